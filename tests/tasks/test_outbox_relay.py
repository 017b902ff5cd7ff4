"""The relay: one bad row neither re-sends the others nor blocks the queue, and is parked as
dead after MAX_ATTEMPTS; two relays at once publish each row once; a broker outage delays a
job but never loses or doubles it."""

import threading
import time
from datetime import timedelta

import dramatiq
import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from devtools import devservices
from shared_apps.outbox import services
from shared_apps.outbox.models import OutboxMessage
from shared_apps.outbox.services import MAX_ATTEMPTS, enqueue_after_commit
from tasks import actors
from tasks.broker import broker, build_broker
from tasks.outbox import BROKER_ERRORS, relay_outbox
from tests.api.test_platform import platform_api  # noqa: F401 - fixture
from tests.concurrency import run_at_once


def queued_actor_names() -> list[str]:
    return [dramatiq.Message.decode(data).actor_name for data in broker.queues["default"].queue]


@pytest.fixture
def empty_outbox(db):
    OutboxMessage.objects.all().delete()
    broker.flush_all()
    yield
    broker.flush_all()


def make_due(message: OutboxMessage) -> None:
    OutboxMessage.objects.filter(pk=message.pk).update(run_at=timezone.now() - timedelta(seconds=1))


def test_a_bad_row_does_not_resend_the_others_nor_block_the_queue(empty_outbox):
    enqueue_after_commit(actor_name="purge_idempotency_records")
    bad = enqueue_after_commit(actor_name="no_such_actor")
    enqueue_after_commit(actor_name="refill_tenant_pool")

    first = relay_outbox()
    second = relay_outbox()

    assert (first, second) == (2, 0)
    assert queued_actor_names() == ["purge_idempotency_records", "refill_tenant_pool"]
    bad.refresh_from_db()
    assert bad.published_at is None
    assert bad.attempts == 1
    assert "no_such_actor" in bad.last_error
    assert bad.run_at > timezone.now()  # retried later, behind the rows that can go


def test_a_row_failing_five_times_is_dead_and_shown_to_platform_admins(empty_outbox, platform_api):  # noqa: F811
    bad = enqueue_after_commit(actor_name="no_such_actor")
    for _ in range(MAX_ATTEMPTS):
        make_due(bad)
        relay_outbox()
    make_due(bad)

    assert relay_outbox() == 0
    bad.refresh_from_db()
    assert (bad.attempts, bad.published_at) == (MAX_ATTEMPTS, None)
    assert bad.dead_at is not None
    listed = platform_api.get("/platform/outbox", status="dead").json()["items"]
    assert [(item["id"], item["actor_name"], item["attempts"]) for item in listed] == [
        (bad.pk, "no_such_actor", MAX_ATTEMPTS)
    ]
    assert platform_api.get("/platform/outbox", status="pending").json()["items"] == []


def test_a_dead_row_can_be_queued_again(empty_outbox):
    dead = enqueue_after_commit(actor_name="refill_tenant_pool")
    OutboxMessage.objects.filter(pk=dead.pk).update(dead_at=timezone.now(), attempts=MAX_ATTEMPTS)

    call_command("retry_outbox_message", str(dead.pk))

    assert relay_outbox() == 1
    assert queued_actor_names() == ["refill_tenant_pool"]


def test_outbox_listing_is_for_platform_admins_only(api_host, tenant_a):
    assert api_host.get("/platform/outbox").status_code == 401
    assert tenant_a.api(on_api_host=True).get("/platform/outbox").status_code == 403
    assert tenant_a.api().get("/platform/outbox").status_code == 403


def test_two_relays_at_once_publish_each_row_once(unblocked_db):
    rows = [enqueue_after_commit(actor_name="test_record", n=n).pk for n in range(300)]
    published: list[int] = []
    lock = threading.Lock()

    def record(message: OutboxMessage) -> None:
        time.sleep(0.001)  # keep both relays busy at the same time
        with lock:
            published.append(message.pk)

    def drain() -> int:
        total = 0
        while sent := services.relay_outbox(publish=record, batch_size=50):
            total += sent
        return total

    try:
        counts = run_at_once([drain, drain], expected=Exception)
        mine = [pk for pk in published if pk in set(rows)]

        assert sorted(mine) == rows
        assert all(count > 0 for count in counts)  # both really took part
    finally:
        OutboxMessage.objects.filter(pk__in=rows).delete()


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of our own on a free port (never the machine's), stopped afterwards."""
    layout = devservices.load_layout(tmp_path / "services")
    devservices.ensure_redis(layout)
    yield layout
    devservices.stop_redis(layout)


runs: list[int] = []


def test_a_job_committed_while_redis_is_down_runs_once_after_it_is_back(unblocked_db, own_redis):
    with override_settings(DRAMATIQ_STUB_BROKER=False, DRAMATIQ_BROKER_URL=own_redis.redis_url):
        redis_broker = build_broker()
    recorder = dramatiq.actor(
        lambda n: runs.append(n), broker=redis_broker, actor_name="record_run", queue_name="outage-test"
    )
    runs.clear()
    OutboxMessage.objects.filter(published_at__isnull=True).update(published_at=timezone.now())
    devservices.stop_redis(own_redis)
    message = enqueue_after_commit(actor_name=recorder.actor_name, n=7)
    try:
        for _ in range(MAX_ATTEMPTS + 2):
            with pytest.raises(BROKER_ERRORS):
                relay_outbox(broker=redis_broker)
        message.refresh_from_db()
        assert (message.published_at, message.dead_at, message.attempts) == (None, None, 0)

        devservices.ensure_redis(own_redis)
        sent = [relay_outbox(broker=redis_broker), relay_outbox(broker=redis_broker)]
        worker = dramatiq.Worker(redis_broker, worker_timeout=100, worker_threads=1)
        worker.start()
        try:
            redis_broker.join("outage-test", timeout=10_000)
            worker.join()
        finally:
            worker.stop()

        assert sent == [1, 0]
        assert runs == [7]
    finally:
        OutboxMessage.objects.filter(pk=message.pk).delete()
        redis_broker.close()


def test_the_relay_still_serves_real_actors(empty_outbox):
    enqueue_after_commit(actor_name=actors.refill_tenant_pool.actor_name)

    assert relay_outbox() == 1
