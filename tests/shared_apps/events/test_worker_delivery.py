"""Delivery through the real outbox relay and a Dramatiq worker: each subscriber is its own
job, so a subscriber that keeps failing does not hold up another."""

import time

import pytest
from django.db import connection, transaction
from dramatiq import Worker

from shared_apps.events import registry
from shared_apps.events import services as events
from shared_apps.events.models import EventDelivery
from shared_apps.outbox.models import OutboxMessage
from tasks import actors  # noqa: F401 - declares the delivery actors on the broker
from tasks.broker import broker
from tasks.outbox import relay_outbox

seen: list[str] = []


@pytest.fixture
def worker():
    broker.flush_all()
    worker = Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    yield worker
    worker.stop()
    broker.flush_all()


@pytest.fixture
def subscribers():
    seen.clear()

    def broken(event):
        raise RuntimeError("this subscriber is down")

    def working(event):
        seen.append(connection.schema_name)

    # The broken one first: with one worker thread it runs, and fails, before the other.
    registry.subscribe("customer.created", "test.broken", broken)
    registry.subscribe("customer.created", "test.working", working)
    yield
    registry.unsubscribe("customer.created", "test.broken")
    registry.unsubscribe("customer.created", "test.working")


def test_a_failing_subscriber_delays_nothing_else(committed_tenant, worker, subscribers):
    schema = committed_tenant.tenant.schema_name
    with committed_tenant.schema(), transaction.atomic():
        event = events.emit("customer.created", customer_id=1, name="Dana")
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not EventDelivery.objects.filter(event_id=event.id).exists():
            relay_outbox()  # the event, then the subscriber jobs its fan-out wrote
            time.sleep(0.1)
        jobs = OutboxMessage.objects.filter(actor_name=events.SUBSCRIBER_ACTOR, kwargs__event__id=str(event.id))

        assert seen == [schema]
        assert list(EventDelivery.objects.filter(event_id=event.id).values_list("subscriber", flat=True)) == [
            "test.working"
        ]
        assert sorted(job.kwargs["subscriber"] for job in jobs) == ["test.broken", "test.working"]
        assert all(job.started_at is not None for job in jobs)  # both ran; the broken one waits to retry
    finally:
        EventDelivery.objects.filter(event_id=event.id).delete()
        OutboxMessage.objects.filter(schema_name=schema).delete()
