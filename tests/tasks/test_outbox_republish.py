"""Outbox jobs the broker loses are published again; a job is run once however many copies
of it the broker holds (the worker marks the row started and skips later copies)."""

from datetime import timedelta

import dramatiq
import pytest
from django.conf import settings
from django.utils import timezone
from dramatiq import Worker

from shared_apps.outbox.models import OutboxMessage
from shared_apps.outbox.services import enqueue_after_commit, republish_unstarted_outbox_messages
from tasks.broker import broker
from tasks.outbox import relay_outbox
from tests.concurrency import JOIN_TIMEOUT

runs: list[str] = []


@dramatiq.actor(queue_name="test-outbox", max_retries=0)
def record_outbox_run(label: str) -> None:
    runs.append(label)


@pytest.fixture
def empty_outbox(unblocked_db):
    runs.clear()
    OutboxMessage.objects.all().delete()
    broker.flush_all()
    yield
    broker.flush_all()
    OutboxMessage.objects.all().delete()


def run_worker() -> None:
    worker = Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        broker.join(record_outbox_run.queue_name, fail_fast=False, timeout=JOIN_TIMEOUT * 1000)
        worker.join()
    finally:
        worker.stop()


def published_long_ago(message: OutboxMessage) -> None:
    """Move its publication back past the bound (rather than the clock forward)."""
    OutboxMessage.objects.filter(pk=message.pk).update(
        published_at=timezone.now() - settings.OUTBOX_REPUBLISH_AFTER - timedelta(seconds=1)
    )


def test_a_job_the_broker_lost_is_published_again_and_runs_once(empty_outbox):
    message = enqueue_after_commit(actor_name="record_outbox_run", label="lost")
    assert relay_outbox() == 1
    broker.flush_all()  # Redis restarted without its data

    too_soon = republish_unstarted_outbox_messages()
    published_long_ago(message)
    put_back = republish_unstarted_outbox_messages()
    relayed = relay_outbox()
    run_worker()

    assert (too_soon, put_back, relayed) == (0, 1, 1)
    assert runs == ["lost"]
    message.refresh_from_db()
    assert message.started_at is not None
    published_long_ago(message)
    assert republish_unstarted_outbox_messages() == 0


def test_two_copies_of_a_job_run_once(empty_outbox):
    message = enqueue_after_commit(actor_name="record_outbox_run", label="slow worker")
    relay_outbox()
    published_long_ago(message)
    republish_unstarted_outbox_messages()
    relay_outbox()
    assert len(broker.queues[record_outbox_run.queue_name].queue) == 2

    run_worker()

    assert runs == ["slow worker"]
    message.refresh_from_db()
    assert message.started_at is not None
