"""Test lanes, assigned at collection (tests/conftest.py) so no test is marked by hand:

- `system`: starts processes or servers (gunicorn, an outage stack, a provider sandbox or a DNS
  server over the loopback, any subprocess), found by what the test, its fixtures and the
  helpers they call refer to;
- `database`: otherwise, uses the test database (the `db` fixture or one built on it);
- `unit`: neither.

`make test-fast` runs `-m "not system"`. A test may also carry `@pytest.mark.system` itself.
"""

import inspect
import subprocess
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

LANES = ("unit", "database", "system")


def _system_helpers() -> set[int]:
    """What starts a server or a process; imported here, not at module level, so that this
    module stays cheap for conftest."""
    from wsgiref import simple_server

    import devtools.devservices
    import devtools.sandbox_server
    from tests import dns_server, outage_stack, servers, stripe_sandbox
    from tests.tenant_apps.integrations import receiver as webhook_receiver
    from tests.tenant_apps.sms import sandbox as sms_sandbox
    from tests.tenant_apps.voice import sandbox as voice_sandbox

    helpers: list[Any] = [
        subprocess,
        simple_server.make_server,
        devtools.devservices,
        devtools.sandbox_server.serve_sandbox,
        servers.serving_in_thread,
        servers.gunicorn_servers,
        servers.Server,
        outage_stack.OutageStack,
        dns_server.loopback_dns,
        dns_server.LoopbackDns,
        webhook_receiver.webhook_receiver,
        stripe_sandbox.stripe_sandbox,
        sms_sandbox.running_sandbox,
        sms_sandbox.receiving_webhooks,
        voice_sandbox.running_vapi_sandbox,
    ]
    return {id(inspect.unwrap(helper)) for helper in helpers}


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _code_objects(constant)


class _Finder:
    """Whether a function refers, directly or through functions of the test tree it calls, to a
    system helper. Names are resolved against the function's globals and the test's class."""

    def __init__(self) -> None:
        self.helpers = _system_helpers()
        self.seen: dict[tuple[int, int], bool] = {}

    def starts_servers(self, function: Callable[..., Any], cls: type | None = None) -> bool:
        function = inspect.unwrap(getattr(function, "__func__", function))
        code = getattr(function, "__code__", None)
        key = (id(function), id(cls))
        if code is None or key in self.seen:
            return self.seen.get(key, False)
        self.seen[key] = False
        namespace = getattr(function, "__globals__", {})
        found = False
        for name in {name for nested in _code_objects(code) for name in nested.co_names}:
            target = namespace.get(name, getattr(cls, name, None) if cls is not None else None)
            if target is None:
                continue
            target = inspect.unwrap(getattr(target, "__func__", target))
            if id(target) in self.helpers:
                found = True
                break
            if (
                inspect.isfunction(target)
                and target.__module__.startswith("tests")
                and self.starts_servers(target, cls)
            ):
                found = True
                break
        self.seen[key] = found
        return found


def lane_of(item: pytest.Item, finder: _Finder) -> str:
    if item.get_closest_marker("system"):
        return "system"
    fixture_defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    functions = [definition.func for definitions in fixture_defs.values() for definition in definitions]
    cls = getattr(item, "cls", None)
    test_function = getattr(item, "function", None)
    if test_function is not None and finder.starts_servers(test_function, cls):
        return "system"
    if any(finder.starts_servers(function, cls) for function in functions):
        return "system"
    if "django_db_setup" in getattr(item, "fixturenames", ()) or item.get_closest_marker("django_db"):
        return "database"
    return "unit"


def assign_lanes(items: list[pytest.Item]) -> None:
    finder = _Finder()
    for item in items:
        lane = lane_of(item, finder)
        if not item.get_closest_marker(lane):
            item.add_marker(getattr(pytest.mark, lane))
