"""Client spans for SQL statements (through Django's execute wrappers) and Redis commands
(around redis-py's command and pipeline calls), in place of the psycopg and Redis
instrumentations: those wrapped every cursor and command in proxies and started a span,
sampled or not, which cost more than a request's own work on cheap endpoints
(docs/benchmarks.md). Here a statement or command inside a trace that is not sampled costs one
check, connection attributes are worked out once per connection, and a span that has no
children is never made current.

A span is made when the active span records, or when none is active (a root: the sampler
decides, as it would for the instrumentations). Inside a request or job, a statement or
command quicker than settings.TRACING_CLIENT_SPAN_MIN_MS gets no span: it is counted, with its
time, on the request's or job's span (hook_spans.Folded), since a span costs more than such a
statement (docs/benchmarks.md). A slower one gets its span after the fact, with its real start
and end; a failed one always does."""

import functools
import time
import weakref
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.client
import redis.client
from django.conf import settings as django_settings
from django.db import connections
from django.db.backends.signals import connection_created
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from shared_apps.observability.hook_spans import Folded, folded_var, tracer, with_request_context
from shared_apps.observability.personal import redact


def _traced_here() -> bool:
    """False inside a trace the sampler left out, where a child span would be dropped anyway."""
    current = trace.get_current_span()
    return current.is_recording() or not current.get_span_context().is_valid


# Read from settings.TRACING_CLIENT_SPAN_MIN_MS as the instrumentors start.
_fold_below_ns = 0


def _set_fold_below() -> None:
    global _fold_below_ns
    _fold_below_ns = int(django_settings.TRACING_CLIENT_SPAN_MIN_MS * 1_000_000)


def _client_span(name: str, attributes: dict[str, Any], started: int, ended: int, error: BaseException | None) -> None:
    """A finished span for a call that ran from `started` to `ended` (ns since the epoch), a
    child of the active span."""
    span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes, start_time=started)
    if error is not None:
        # As a span's block records it; the scrubber keeps the exception's type only.
        span.record_exception(error, escaped=True)
        span.set_status(Status(StatusCode.ERROR))
    span.end(end_time=ended)


MakeSpan = Callable[[int, int, BaseException | None], None]


class _Timed:
    """Around one statement or command: as it ends, a span made after the fact (a slow or failed
    one), or a count on the request's or job's span. An exception goes on."""

    __slots__ = ("folded", "make_span", "started", "tally")

    def __init__(self, make_span: MakeSpan, tally: Callable[[Folded, int], None]):
        self.make_span, self.tally = make_span, tally

    def __enter__(self) -> None:
        self.folded = folded_var.get()
        self.started = time.time_ns()

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        ended = time.time_ns()
        if error is None and self.folded is not None and ended - self.started < _fold_below_ns:
            self.tally(self.folded, ended - self.started)
        else:
            self.make_span(self.started, ended, error)


def _tally_statement(folded: Folded, elapsed: int) -> None:
    folded.sql_count += 1
    folded.sql_ns += elapsed


def _tally_command(folded: Folded, elapsed: int) -> None:
    folded.redis_count += 1
    folded.redis_ns += elapsed


class _StatementSpans:
    """One connection's execute wrapper (Django calls it around each statement it runs, with
    the SQL's placeholders, never the values)."""

    active = False  # for every thread's connections: one switch turns them all off

    def __init__(self, settings: dict[str, Any]):
        self.attributes = {
            "db.system": "postgresql",
            "db.name": settings["NAME"] or "",
            "db.user": settings["USER"] or "",
            "net.peer.name": settings["HOST"] or "localhost",
            "net.peer.port": int(settings["PORT"] or 5432),
        }

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict) -> Any:
        if not (_StatementSpans.active and _traced_here()):
            return execute(sql, params, many, context)

        def make_span(started: int, ended: int, error: BaseException | None) -> None:
            # Values travel as parameters; a literal written into the SQL is redacted here.
            _client_span(
                sql.split(None, 1)[0].upper() if sql else "SQL",
                with_request_context({**self.attributes, "db.statement": redact(sql)}),
                started,
                ended,
                error,
            )

        with _Timed(make_span, _tally_statement):
            return execute(sql, params, many, context)


def _add_statement_spans(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "postgresql" and not any(
        isinstance(wrapper, _StatementSpans) for wrapper in connection.execute_wrappers
    ):
        connection.execute_wrappers.append(_StatementSpans(connection.settings_dict))


class SqlInstrumentor:
    """A span per SQL statement Django runs: each connection gets the wrapper as it connects
    (and those this thread already holds, now)."""

    def instrument(self) -> None:
        _set_fold_below()
        _StatementSpans.active = True
        connection_created.connect(_add_statement_spans, dispatch_uid="servicedesk-sql-spans")
        for connection in connections.all(initialized_only=True):
            _add_statement_spans(None, connection)

    def uninstrument(self) -> None:
        _StatementSpans.active = False
        connection_created.disconnect(dispatch_uid="servicedesk-sql-spans")
        for connection in connections.all(initialized_only=True):
            connection.execute_wrappers[:] = [
                wrapper for wrapper in connection.execute_wrappers if not isinstance(wrapper, _StatementSpans)
            ]


# A pool's connection attributes, worked out at its first traced command.
_pool_attributes: "weakref.WeakKeyDictionary[Any, dict[str, Any]]" = weakref.WeakKeyDictionary()


def _redis_attributes(client: Any) -> dict[str, Any]:
    pool = client.connection_pool
    attributes = _pool_attributes.get(pool)
    if attributes is None:
        options = pool.connection_kwargs
        attributes = {"db.system": "redis", "db.redis.database_index": options.get("db") or 0}
        if "path" in options:
            attributes["net.peer.name"] = options["path"]
        else:
            attributes["net.peer.name"] = options.get("host", "localhost")
            attributes["net.peer.port"] = options.get("port", 6379)
        _pool_attributes[pool] = attributes
    return attributes


def _command_span(client: Any, args: tuple[Any, ...]) -> Callable[[], tuple[str, dict[str, Any]]]:
    def describe() -> tuple[str, dict[str, Any]]:
        # The command's name only: keys and values may name a customer.
        name = str(args[0]) if args else "redis"
        statement = " ".join([name, *["?"] * (len(args) - 1)])
        return name, with_request_context({**_redis_attributes(client), "db.statement": statement})

    return describe


def _pipeline_span(pipeline: Any, args: tuple[Any, ...]) -> Callable[[], tuple[str, dict[str, Any]]]:
    # Read now: the pipeline forgets its commands once it has run.
    names = [str(command[0][0]) for command in pipeline.command_stack if command[0]]

    def describe() -> tuple[str, dict[str, Any]]:
        return " ".join(names[:10]) or "redis", with_request_context(
            {
                **_redis_attributes(pipeline),
                "db.statement": "\n".join(names),
                "db.redis.pipeline_length": len(names),
            }
        )

    return describe


# Given the client and the call's arguments, what names the call's span if it gets one.
DescribeCall = Callable[[Any, tuple[Any, ...]], Callable[[], tuple[str, dict[str, Any]]]]


def _span_maker(describe: DescribeCall, client: Any, args: tuple[Any, ...]) -> MakeSpan:
    described = describe(client, args)
    return lambda started, ended, error: _client_span(*described(), started, ended, error)


def _traced(original: Callable[..., Any], describe: DescribeCall) -> Any:
    @functools.wraps(original)
    def call(client: Any, *args: Any, **options: Any) -> Any:
        if not _traced_here():
            return original(client, *args, **options)
        with _Timed(_span_maker(describe, client, args), _tally_command):
            return original(client, *args, **options)

    call.__wrapped_original__ = original  # type: ignore[attr-defined]
    return call


def _traced_async(original: Callable[..., Any], describe: DescribeCall) -> Any:
    @functools.wraps(original)
    async def call(client: Any, *args: Any, **options: Any) -> Any:
        if not _traced_here():
            return await original(client, *args, **options)
        with _Timed(_span_maker(describe, client, args), _tally_command):
            return await original(client, *args, **options)

    call.__wrapped_original__ = original  # type: ignore[attr-defined]
    return call


_REDIS_METHODS: list[tuple[type, str, DescribeCall, bool]] = [
    # (class, method, span maker, is async)
    (redis.Redis, "execute_command", _command_span, False),
    (redis.client.Pipeline, "execute", _pipeline_span, False),
    (redis.asyncio.Redis, "execute_command", _command_span, True),
    (redis.asyncio.client.Pipeline, "execute", _pipeline_span, True),
]


class RedisInstrumentor:
    """A span per Redis command or pipeline, sync and asyncio: the command's name, its
    arguments as `?`."""

    def instrument(self) -> None:
        _set_fold_below()
        for owner, method, make_span, is_async in _REDIS_METHODS:
            original = owner.__dict__[method]
            if not hasattr(original, "__wrapped_original__"):
                setattr(owner, method, (_traced_async if is_async else _traced)(original, make_span))

    def uninstrument(self) -> None:
        for owner, method, _make_span, _is_async in _REDIS_METHODS:
            original = owner.__dict__[method]
            if hasattr(original, "__wrapped_original__"):
                setattr(owner, method, original.__wrapped_original__)
