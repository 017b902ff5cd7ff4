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
from tasks import actors
from tasks.broker import broker
from tasks.outbox import relay_outbox

seen: list[str] = []
state = {"broken": True}


@pytest.fixture
def worker():
    broker.flush_all()
    worker = Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    yield worker
    worker.stop()
    broker.flush_all()


@pytest.fixture
def subscribers(monkeypatch):
    seen.clear()
    state["broken"] = True
    # Retries in milliseconds rather than Dramatiq's default seconds.
    monkeypatch.setitem(actors.run_event_subscriber.options, "min_backoff", 50)
    monkeypatch.setitem(actors.run_event_subscriber.options, "max_backoff", 200)

    def broken(event):
        if state["broken"]:
            raise RuntimeError("this subscriber is down")
        seen.append(f"repaired:{connection.schema_name}")

    def working(event):
        seen.append(connection.schema_name)

    # Only these two: the apps' own subscribers of the type are set aside meanwhile.
    apps_subscribers = registry.subscribers_of("customer.created")
    for name in apps_subscribers:
        registry.unsubscribe("customer.created", name)
    registry.subscribe("customer.created", "test.broken", broken)
    registry.subscribe("customer.created", "test.working", working)
    yield
    registry.unsubscribe("customer.created", "test.broken")
    registry.unsubscribe("customer.created", "test.working")
    for name, handler in apps_subscribers.items():
        registry.subscribe("customer.created", name, handler)


def _delivered(event) -> list[str]:
    return sorted(EventDelivery.objects.filter(event_id=event.id).values_list("subscriber", flat=True))


def _wait_for(condition) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not condition():
        relay_outbox()  # the event, then the subscriber jobs its fan-out wrote
        time.sleep(0.05)


def test_a_failing_subscriber_delays_nothing_else(committed_tenant, worker, subscribers):
    schema = committed_tenant.tenant.schema_name
    with committed_tenant.schema(), transaction.atomic():
        event = events.emit("customer.created", customer_id=1, name="Dana")
    try:
        jobs = OutboxMessage.objects.filter(actor_name=events.SUBSCRIBER_ACTOR, kwargs__event__id=str(event.id))
        # Both jobs are queued at once, and the worker may take either first: wait until both ran.
        _wait_for(lambda: _delivered(event) and jobs.filter(started_at__isnull=False).count() == 2)

        assert seen == [schema]
        assert _delivered(event) == ["test.working"]
        assert sorted(job.kwargs["subscriber"] for job in jobs) == ["test.broken", "test.working"]
        assert all(job.started_at is not None for job in jobs)  # both ran; the broken one retries alone

        state["broken"] = False
        _wait_for(lambda: len(_delivered(event)) == 2)
        broker.join(actors.run_event_subscriber.queue_name, timeout=10_000)
        worker.join()

        assert seen == [schema, f"repaired:{schema}"]
        assert _delivered(event) == ["test.broken", "test.working"]
    finally:
        EventDelivery.objects.filter(event_id=event.id).delete()
        OutboxMessage.objects.filter(schema_name=schema).delete()
