from datetime import timedelta

from django.utils import timezone

from shared_apps.outbox.models import OutboxMessage
from shared_apps.outbox.services import PUBLISHED_RETENTION, enqueue_after_commit, purge_published_outbox_messages


def test_published_rows_older_than_the_retention_are_purged_and_nothing_else(db):
    OutboxMessage.objects.all().delete()
    now = timezone.now()
    old = enqueue_after_commit(actor_name="old", dedupe_key="old")
    recent = enqueue_after_commit(actor_name="recent")
    enqueue_after_commit(actor_name="pending", run_at=now - PUBLISHED_RETENTION * 2)
    dead = enqueue_after_commit(actor_name="dead")
    OutboxMessage.objects.filter(pk=old.pk).update(published_at=now - PUBLISHED_RETENTION - timedelta(minutes=1))
    OutboxMessage.objects.filter(pk=recent.pk).update(published_at=now - PUBLISHED_RETENTION + timedelta(minutes=1))
    OutboxMessage.objects.filter(pk=dead.pk).update(dead_at=now - PUBLISHED_RETENTION * 2)

    purged = purge_published_outbox_messages(now=now)

    assert purged == 1
    assert set(OutboxMessage.objects.values_list("actor_name", flat=True)) == {"recent", "pending", "dead"}
    assert enqueue_after_commit(actor_name="old", dedupe_key="old") is not None  # its key is free again
