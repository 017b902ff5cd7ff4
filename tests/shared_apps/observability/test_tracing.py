import json
import logging

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.test import Client
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from api.logging import RequestContextFilter
from shared_apps.observability import tracing
from shared_apps.outbox.models import OutboxMessage
from shared_apps.redis_client import redis_client

PHONE = "+12025550187"
EMAIL = "grace.private@example.com"
NOTES = "Gate code 4417, dog in the yard"


@pytest.mark.parametrize(
    ("environment", "requested"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_tracing_is_off_unless_the_otel_variables_ask_for_it(monkeypatch, environment, requested):
    for name in (
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_SDK_DISABLED",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert tracing.tracing_requested() is requested


def test_exporters_are_the_ones_otel_traces_exporter_names(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp,console")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")

    exporters = tracing.exporters_from_environment()

    assert [type(exporter) for exporter in exporters] == [OTLPSpanExporter, ConsoleSpanExporter]
    for exporter in exporters:
        exporter.shutdown()


def test_an_exporter_that_is_not_installed_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")

    with pytest.raises(ImproperlyConfigured, match="zipkin"):
        tracing.exporters_from_environment()


def test_the_scrubber_keeps_no_url_path_or_query_client_address_or_exception_message(spans):
    with tracing.tracer.start_as_current_span(
        "GET customers",
        kind=SpanKind.SERVER,
        attributes={
            "http.url": f"http://acme.localhost/api/v1/pay/secret-token?search={EMAIL}",
            "http.target": f"/api/v1/pay/secret-token?search={EMAIL}",
            "http.route": "api/v1/pay/<str:token>",
            "url.query": f"search={EMAIL}",
            "client.address": "203.0.113.9",
            "note": f"call {PHONE}",
        },
    ) as span:
        span.record_exception(ValueError(f"no customer with phone {PHONE}"))

    [finished] = spans.get_finished_spans()
    assert dict(finished.attributes) == {
        "http.url": "http://acme.localhost",
        "http.route": "api/v1/pay/<str:token>",
        "note": "call [redacted]",
    }
    [event] = finished.events
    assert dict(event.attributes) == {"exception.type": "ValueError", "exception.escaped": "False"}


def test_a_request_span_names_tenant_and_request_id_and_carries_no_personal_data(spans, tenant_a):
    api = tenant_a.api()
    created = api.post("/customers", {"name": "Grace", "phone": PHONE, "email": EMAIL, "notes": NOTES})
    listed = api.get("/customers", search=EMAIL)

    assert (created.status_code, listed.status_code) == (201, 200)
    finished = spans.get_finished_spans()
    servers = [span for span in finished if span.kind == SpanKind.SERVER]
    assert [
        (span.attributes[tracing.TENANT_ATTRIBUTE], span.attributes[tracing.REQUEST_ID_ATTRIBUTE]) for span in servers
    ] == [
        (tenant_a.tenant.schema_name, created["X-Request-ID"]),
        (tenant_a.tenant.schema_name, listed["X-Request-ID"]),
    ]
    exported = json.dumps([json.loads(span.to_json()) for span in finished])
    for personal in (PHONE, PHONE[2:], EMAIL, NOTES):
        assert personal not in exported


def test_an_outbox_row_carries_the_trace_and_request_id_of_the_request_that_wrote_it(spans, tenant_a):
    response = tenant_a.api().post("/customers", {"name": "Traced"})

    [server] = [span for span in spans.get_finished_spans() if span.kind == SpanKind.SERVER]
    row = OutboxMessage.objects.filter(kwargs__event__type="customer.created").latest("id")
    traceparent = row.trace_context["traceparent"]
    assert traceparent.split("-")[1] == trace.format_trace_id(server.context.trace_id)
    assert row.trace_context[tracing.REQUEST_ID_KEY] == response["X-Request-ID"]


def test_log_lines_carry_the_trace_and_span_ids(spans):
    record = logging.LogRecord("test", logging.INFO, __file__, 1, "inside", None, None)
    with tracing.tracer.start_as_current_span("work") as span:
        RequestContextFilter().filter(record)
    outside = logging.LogRecord("test", logging.INFO, __file__, 1, "outside", None, None)
    RequestContextFilter().filter(outside)

    context = span.get_span_context()
    assert (record.trace_id, record.span_id) == (
        trace.format_trace_id(context.trace_id),
        trace.format_span_id(context.span_id),
    )
    assert (outside.trace_id, outside.span_id) == ("-", "-")


def test_a_request_continues_the_trace_its_traceparent_header_names(spans, django_db_setup):
    trace_id, parent_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"

    response = Client().get("/api/v1/ready", HTTP_HOST="localhost", HTTP_TRACEPARENT=f"00-{trace_id}-{parent_id}-01")

    assert response.status_code == 200
    finished = spans.get_finished_spans()
    [server] = [span for span in finished if span.kind == SpanKind.SERVER]
    assert server.name == "GET api/v1/ready"
    assert server.attributes["http.status_code"] == 200
    assert server.parent is not None and format(server.parent.span_id, "016x") == parent_id
    assert {format(span.context.trace_id, "032x") for span in finished} == {trace_id}
    assert any(span.kind == SpanKind.CLIENT for span in finished)  # its Redis check, in the trace


def test_a_trace_the_caller_did_not_sample_makes_no_spans(spans, django_db_setup):
    unsampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"

    response = Client().get("/api/v1/ready", HTTP_HOST="localhost", HTTP_TRACEPARENT=unsampled)

    assert response.status_code == 200
    assert spans.get_finished_spans() == ()


@pytest.mark.django_db
def test_a_failed_statement_and_a_redis_pipeline_are_client_spans_without_their_values(spans):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT no_such_column FROM tenants_tenant WHERE name = %s", [PHONE])
    key = f"{settings.REDIS_KEY_PREFIX}tracing-test:{EMAIL}"
    pipeline = redis_client().pipeline()
    pipeline.set(key, PHONE, ex=5)
    pipeline.get(key)
    assert pipeline.execute() == [True, PHONE.encode()]

    finished = spans.get_finished_spans()
    [failed] = [span for span in finished if "no_such_column" in span.attributes.get("db.statement", "")]
    assert (failed.name, failed.kind, failed.status.status_code) == ("SELECT", SpanKind.CLIENT, StatusCode.ERROR)
    assert [dict(event.attributes) for event in failed.events] == [
        {"exception.type": "django.db.utils.ProgrammingError", "exception.escaped": "True"}
    ]
    [sent] = [span for span in finished if span.attributes.get("db.system") == "redis"]
    assert (sent.name, sent.attributes["db.statement"]) == ("SET GET", "SET\nGET")
    assert PHONE not in json.dumps([span.to_json() for span in finished])


def test_a_request_and_its_statements_and_redis_reads_name_tenant_and_request_id_as_they_start(spans, tenant_a):
    response = tenant_a.api().get("/customers")

    assert response.status_code == 200
    finished = spans.get_finished_spans()
    # The spans of our own hooks, which the scrubber does not re-check attribute by attribute.
    assert {span.instrumentation_scope.name for span in finished} == {"servicedesk.hooks"}
    # Those started once the tenant is known (after the host's lookup) carry both.
    named = [span for span in finished if tracing.TENANT_ATTRIBUTE in span.attributes]
    assert {span.kind for span in named} == {SpanKind.SERVER, SpanKind.CLIENT}
    assert {
        (span.attributes[tracing.TENANT_ATTRIBUTE], span.attributes[tracing.REQUEST_ID_ATTRIBUTE]) for span in named
    } == {(tenant_a.tenant.schema_name, response["X-Request-ID"])}


@pytest.mark.django_db
def test_what_a_caller_could_put_in_our_own_spans_is_cleaned_where_they_are_made(spans):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT '{EMAIL}', '{PHONE}'")
    response = Client().generic("+12025550187", "/api/v1/ready", HTTP_HOST=f"{PHONE}.example.com")

    assert response.status_code == 400
    finished = spans.get_finished_spans()
    [literal] = [span for span in finished if span.attributes.get("db.statement", "").startswith("SELECT '")]
    assert literal.attributes["db.statement"] == "SELECT '[redacted]', '[redacted]'"
    [server] = [span for span in finished if span.kind == SpanKind.SERVER]
    assert (server.name, server.attributes["http.method"], server.attributes["http.host"]) == (
        "_OTHER",
        "_OTHER",
        "[redacted].example.com",
    )
    exported = json.dumps([json.loads(span.to_json()) for span in finished])
    for personal in (PHONE, PHONE[2:], EMAIL):
        assert personal not in exported
