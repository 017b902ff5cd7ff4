from datetime import timedelta

import httpx
import pytest
import respx
from django.conf import settings
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from dramatiq import Worker
from prometheus_client.parser import text_string_to_metric_families

from shared_apps.observability.metrics import registry
from shared_apps.outbox.models import OutboxMessage
from shared_apps.webhooks import services as webhooks
from tasks import actors
from tasks import metrics as queue_state
from tasks.broker import broker
from tenant_apps.voice import gateway as vapi
from tests.concurrency import JOIN_TIMEOUT
from tests.shared_apps.webhooks.conftest import TEST_PROVIDER, recording_handler  # noqa: F401 - fixture

CALL_URL = f"{settings.VAPI_SANDBOX_URL}/call"


def sample(name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def dial() -> None:
    vapi.create_call(
        assistant_id="asst-1",
        phone_number_id="pn-1",
        number="+12025550143",
        customer_name="",
        name="A call",
        metadata={},
        variable_values={},
        server={},
        server_messages=[],
    )


@pytest.mark.parametrize(("answer", "failure"), [(503, "unavailable"), (429, "unavailable"), (400, "refused")])
def test_a_failed_provider_call_is_timed_and_counted_by_operation_and_kind_of_failure(db, answer, failure):
    labels = {"provider": "vapi", "operation": "calls.create"}
    calls_before = sample("provider_request_duration_seconds_count", **labels)
    errors_before = sample("provider_errors_total", **labels, failure=failure)

    with respx.mock, pytest.raises(vapi.VapiError):
        respx.post(CALL_URL).mock(return_value=httpx.Response(answer, json={"message": "no"}))
        dial()

    assert sample("provider_request_duration_seconds_count", **labels) == calls_before + 1
    assert sample("provider_errors_total", **labels, failure=failure) == errors_before + 1


def test_a_provider_that_does_not_answer_counts_as_unavailable(db):
    labels = {"provider": "vapi", "operation": "calls.create", "failure": "unavailable"}
    before = sample("provider_errors_total", **labels)

    with respx.mock, pytest.raises(vapi.VapiUnreachable):
        respx.post(CALL_URL).mock(side_effect=httpx.ConnectTimeout("timed out"))
        dial()

    assert sample("provider_errors_total", **labels) == before + 1


def test_a_successful_provider_call_is_timed_and_not_counted_as_an_error(db):
    labels = {"provider": "vapi", "operation": "calls.create"}
    calls_before = sample("provider_request_duration_seconds_count", **labels)
    errors_before = sum(sample("provider_errors_total", **labels, failure=kind) for kind in ("unavailable", "refused"))

    with respx.mock:
        respx.post(CALL_URL).mock(return_value=httpx.Response(201, json={"id": "call-1", "status": "queued"}))
        dial()

    assert sample("provider_request_duration_seconds_count", **labels) == calls_before + 1
    assert sum(sample("provider_errors_total", **labels, failure=kind) for kind in ("unavailable", "refused")) == (
        errors_before
    )


def test_each_request_records_its_database_statements_and_time(tenant_a):
    labels = {"method": "GET", "route": "api/v1/customers"}
    before = (sample("http_request_db_statements_count", **labels), sample("http_request_db_statements_sum", **labels))
    seconds_before = sample("http_request_db_seconds_sum", **labels)

    with CaptureQueriesContext(connection) as queries:
        assert tenant_a.api().get("/customers").status_code == 200

    assert len(queries) > 0
    assert (
        sample("http_request_db_statements_count", **labels),
        sample("http_request_db_statements_sum", **labels),
    ) == (before[0] + 1, before[1] + len(queries))
    assert sample("http_request_db_seconds_sum", **labels) > seconds_before


def scrape(api_host) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = api_host.get("/metrics")
    assert response.status_code == 200
    return {
        (found.name, tuple(sorted(found.labels.items()))): found.value
        for family in text_string_to_metric_families(response.content.decode())
        for found in family.samples
    }


def test_metrics_show_queue_depth_outbox_lag_and_dead_rows(api_host):
    OutboxMessage.objects.all().delete()
    now = timezone.now()
    OutboxMessage.objects.create(actor_name="refill_tenant_pool", run_at=now - timedelta(minutes=10))
    OutboxMessage.objects.create(actor_name="refill_tenant_pool", run_at=now + timedelta(hours=1))
    OutboxMessage.objects.create(actor_name="gone_actor", dead_at=now, attempts=5)
    broker.flush_all()
    actors.refill_tenant_pool.send()
    actors.refill_tenant_pool.send_with_options(delay=60_000)

    metrics = scrape(api_host)
    broker.flush_all()

    assert metrics[("dramatiq_queue_messages", (("queue", "default"),))] == 2
    assert metrics[("outbox_due_messages", ())] == 1
    assert 600 <= metrics[("outbox_due_lag_seconds", ())] < 900
    assert metrics[("outbox_dead_messages", ())] == 1
    assert metrics[("dependency_up", (("dependency", "database"),))] == 1
    assert metrics[("dependency_up", (("dependency", "redis"),))] == 1


def test_with_nothing_due_the_outbox_lag_is_zero(api_host):
    OutboxMessage.objects.all().delete()

    metrics = scrape(api_host)

    assert (metrics[("outbox_due_messages", ())], metrics[("outbox_due_lag_seconds", ())]) == (0, 0)


def test_a_processed_webhook_records_how_long_it_waited(
    tenant_a,
    recording_handler,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    webhooks.claim_provider_route(
        tenant_id=tenant_a.tenant.pk, provider=TEST_PROVIDER, kind="number", external_id="+15550002222"
    )
    event = webhooks.record_webhook_event(
        provider=TEST_PROVIDER,
        dedupe_key="evt-lag",
        route_candidates=[("number", "+15550002222")],
        body=b"a=1",
        content_type="application/x-www-form-urlencoded",
    ).event
    before = sample("webhook_processing_lag_seconds_count", provider=TEST_PROVIDER)

    with django_capture_on_commit_callbacks(execute=True):
        webhooks.process_webhook_event(event_id=event.pk)

    assert sample("webhook_processing_lag_seconds_count", provider=TEST_PROVIDER) == before + 1


@pytest.mark.concurrency
def test_a_job_records_its_run_time_and_its_wait_in_the_queue(unblocked_db):
    labels = {"actor": "purge_idempotency_records"}
    before = (
        sample("job_duration_seconds_count", **labels, outcome="done"),
        sample("job_queue_wait_seconds_count", **labels),
    )
    broker.flush_all()
    worker = Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        actors.purge_idempotency_records.send()
        broker.join("default", timeout=JOIN_TIMEOUT * 1000)
        worker.join()
    finally:
        worker.stop()

    assert (
        sample("job_duration_seconds_count", **labels, outcome="done"),
        sample("job_queue_wait_seconds_count", **labels),
    ) == (before[0] + 1, before[1] + 1)


def test_metrics_answer_and_say_so_when_the_database_does_not(api_host, monkeypatch):
    def database_away(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(queue_state, "outbox_backlog", database_away)

    metrics = scrape(api_host)

    assert metrics[("dependency_up", (("dependency", "database"),))] == 0
    assert ("outbox_due_messages", ()) not in metrics
