"""The webhook slow lane with real Dramatiq workers, as deployed: one on the main queues, one
on the slow lane's. The main worker has a single thread, so a hanging endpoint's attempt taking
it would stop every other delivery until the timeout: healthy deliveries arriving while the
hanging one is still in flight show that it ran on the slow lane's thread."""

import time

import pytest
from django.utils import timezone
from dramatiq import Worker

from shared_apps.outbox.models import OutboxMessage
from tasks.broker import SLOW_LANE_QUEUE, broker
from tasks.outbox import relay_outbox
from tenant_apps.integrations.models import WebhookAttempt, WebhookEndpoint
from tests.tenant_apps.integrations.receiver import webhook_receiver

HANG_SECONDS = 10
TIMEOUT_SECONDS = 8.0


@pytest.fixture
def lanes():
    from tasks import actors  # noqa: F401 - declares the actors the workers run

    broker.flush_all()
    main_queues = set(broker.get_declared_queues()) - {SLOW_LANE_QUEUE}
    workers = [
        Worker(broker, queues=main_queues, worker_timeout=100, worker_threads=1),
        Worker(broker, queues={SLOW_LANE_QUEUE}, worker_timeout=100, worker_threads=1),
    ]
    for worker in workers:
        worker.start()
    yield
    for worker in workers:
        worker.stop()
    broker.flush_all()


def _endpoint(tenant, receiver) -> int:
    response = tenant.api().post("/webhooks/endpoints", {"url": receiver.url, "event_types": ["customer.created"]})
    assert response.status_code == 201, response.content
    receiver.secrets.append(response.json()["secret"])
    return response.json()["id"]


def test_healthy_deliveries_proceed_while_the_slow_lane_is_full(committed_tenant, lanes, settings):
    settings.WEBHOOK_TIMEOUT = TIMEOUT_SECONDS
    schema = committed_tenant.tenant.schema_name
    try:
        with webhook_receiver() as healthy, webhook_receiver(hang_seconds=HANG_SECONDS) as hanging:
            _endpoint(committed_tenant, healthy)
            hanging_id = _endpoint(committed_tenant, hanging)
            with committed_tenant.schema():
                # It failed before: its attempts belong in the slow lane.
                WebhookEndpoint.objects.filter(pk=hanging_id).update(failing_since=timezone.now())
            for name in ("Ada", "Grace", "Alan"):
                assert committed_tenant.api().post("/customers", {"name": name}).status_code == 201

            started = time.monotonic()
            while time.monotonic() - started < 30 and (len(healthy.received) < 3 or not hanging.requests):
                relay_outbox()
                time.sleep(0.05)
            with committed_tenant.schema():
                hanging_attempts_recorded = WebhookAttempt.objects.filter(delivery__endpoint_id=hanging_id).count()
            hanging_requests = hanging.requests

        assert sorted(delivery.payload["data"]["name"] for delivery in healthy.received) == ["Ada", "Alan", "Grace"]
        # The hanging endpoint's first attempt (one at a time in the slow lane) was still in
        # flight when the last healthy delivery arrived: it never held the main lane's thread.
        assert hanging_requests == 1
        assert hanging_attempts_recorded == 0
    finally:
        OutboxMessage.objects.filter(schema_name=schema).delete()
