"""A flag switched for one business is seen by every server process at its next request:
two real gunicorn servers (separate processes, separate flag caches), the change made by a
third (this test)."""

import time
from collections.abc import Iterator

import pytest

from shared_apps.flags import services as flags
from shared_apps.flags.catalogue import SMS
from tests.servers import Server, gunicorn_servers

pytestmark = pytest.mark.concurrency

SEND = {"to": "+12025550143", "body": "Hello"}


@pytest.fixture(scope="module")
def two_servers(django_db_setup) -> Iterator[list[Server]]:
    # A cache lifetime far longer than the test: only the published change can refresh it.
    with gunicorn_servers(2, FLAGS_CACHE_SECONDS="300") as servers:
        yield servers


def refusals(servers: list[Server], *, host: str, token: str) -> list[str]:
    """Why each server refuses a text (the committed tenant has no sender number, so a text
    that passes the flag is refused for that)."""
    codes = []
    for server in servers:
        status, body = server.json("POST", "/sms/send", host=host, token=token, body=SEND)
        assert status == 409, body
        codes.append(body["errors"][0]["code"])
    return codes


def test_a_switched_off_integration_stops_in_every_process_within_a_second(committed_tenant, two_servers):
    host, token, tenant_id = committed_tenant.host, committed_tenant.owner_token, committed_tenant.tenant.pk
    # Given both processes have read the flag (on) and cached it
    assert refusals(two_servers, host=host, token=token) == ["sms_sender_missing"] * 2

    # When a third process switches texts off for the business
    flags.set_tenant_flag(tenant_id=tenant_id, name=SMS, enabled=False)
    switched = time.monotonic()

    # Then both refuse texts at their next request, well within a second of the change
    assert refusals(two_servers, host=host, token=token) == ["integration_disabled"] * 2
    seen_within = time.monotonic() - switched

    flags.set_tenant_flag(tenant_id=tenant_id, name=SMS, enabled=None)
    assert refusals(two_servers, host=host, token=token) == ["sms_sender_missing"] * 2
    print(f"seen by both processes {seen_within:.3f} s after the change")
