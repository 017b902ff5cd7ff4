"""While traced, a SQL statement or Redis command quicker than TRACING_CLIENT_SPAN_MIN_MS gets
no span of its own: its request's or job's span counts it and its time. A slower one, or one
that fails, keeps its span, with its real start and end."""

import asyncio

import pytest
import redis.asyncio
from django.db import DatabaseError, connection, transaction
from opentelemetry.trace import SpanKind, StatusCode

from shared_apps.observability import tracing
from shared_apps.redis_client import redis_client


def instrument_with_minimum(settings, milliseconds: float) -> None:
    settings.TRACING_CLIENT_SPAN_MIN_MS = milliseconds
    tracing.uninstrument_libraries()
    tracing.instrument_libraries()


def client_spans(finished, system: str) -> list:
    return [span for span in finished if span.attributes.get("db.system") == system]


def test_quick_statements_and_commands_are_counted_on_the_request_span(spans, settings, tenant_a):
    tenant_a.api().get("/customers")  # the tenant's and member's caches warm
    spans.clear()
    tenant_a.api().get("/customers")
    spanned = spans.get_finished_spans()
    instrument_with_minimum(settings, 60_000)
    spans.clear()

    response = tenant_a.api().get("/customers")

    assert response.status_code == 200
    [server] = spans.get_finished_spans()
    assert server.kind == SpanKind.SERVER
    statements, commands = client_spans(spanned, "postgresql"), client_spans(spanned, "redis")
    assert statements and commands
    assert server.attributes["servicedesk.sql.folded_statements"] == len(statements)
    assert server.attributes["servicedesk.redis.folded_commands"] == len(commands)
    request_ms = (server.end_time - server.start_time) / 1e6
    folded_ms = server.attributes["servicedesk.sql.folded_ms"] + server.attributes["servicedesk.redis.folded_ms"]
    assert 0 < folded_ms < request_ms


@pytest.mark.django_db
def test_a_slow_or_failed_statement_keeps_its_span_inside_a_job(spans, settings):
    instrument_with_minimum(settings, 500)
    job = tracing.JobSpan(actor_name="folding-test", queue_name="default", trace_context={})
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.execute("SELECT pg_sleep(0.6)")
        with pytest.raises(DatabaseError), transaction.atomic():
            cursor.execute("SELECT no_such_column FROM tenants_tenant")
    redis_client().get(f"{settings.REDIS_KEY_PREFIX}folding-test")
    job.end(error=None)

    finished = spans.get_finished_spans()
    [job_span] = [span for span in finished if span.kind == SpanKind.CONSUMER]
    statements = client_spans(finished, "postgresql")
    assert "SELECT 1" not in [span.attributes["db.statement"] for span in statements]
    [slow] = [span for span in statements if "pg_sleep" in span.attributes["db.statement"]]
    [failed] = [span for span in statements if "no_such_column" in span.attributes["db.statement"]]
    for span in (slow, failed):
        assert span.parent.span_id == job_span.context.span_id
        assert job_span.start_time <= span.start_time <= span.end_time <= job_span.end_time
    assert slow.end_time - slow.start_time >= 600_000_000
    assert failed.status.status_code == StatusCode.ERROR
    assert [dict(event.attributes) for event in failed.events] == [
        {"exception.type": "django.db.utils.ProgrammingError", "exception.escaped": "True"}
    ]
    assert job_span.attributes["servicedesk.sql.folded_statements"] >= 1
    assert job_span.attributes["servicedesk.redis.folded_commands"] == 1
    assert client_spans(finished, "redis") == []


def test_asyncio_redis_commands_fold_into_the_job_span(spans, settings):
    instrument_with_minimum(settings, 60_000)
    job = tracing.JobSpan(actor_name="folding-test", queue_name="default", trace_context={})

    async def read() -> None:
        client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        await client.get(f"{settings.REDIS_KEY_PREFIX}folding-test")
        async with client.pipeline() as pipeline:
            await pipeline.get("a").get("b").execute()
        await client.aclose()

    asyncio.run(read())
    job.end(error=None)

    [job_span] = spans.get_finished_spans()
    assert job_span.attributes["servicedesk.redis.folded_commands"] == 2
