from datetime import timedelta

from django.db import connection
from django.utils import timezone

from shared_apps.outbox.models import OutboxMessage
from shared_apps.outbox.services import due_messages, enqueue_after_commit, relay_outbox


def test_a_row_is_published_only_once_it_is_due(db):
    OutboxMessage.objects.all().delete()
    now = timezone.now()
    later = enqueue_after_commit(actor_name="later", run_at=now + timedelta(hours=2))
    at_once = enqueue_after_commit(actor_name="at_once")
    overdue = enqueue_after_commit(actor_name="overdue", run_at=now - timedelta(minutes=5))
    published: list[str] = []

    sent = relay_outbox(publish=lambda message: published.append(message.actor_name))

    assert sent == 2
    assert published == ["overdue", "at_once"]
    assert list(due_messages(now=now + timedelta(hours=2)).values_list("id", flat=True)) == [later.pk]
    assert {at_once.pk, overdue.pk} == set(
        OutboxMessage.objects.filter(published_at__isnull=False).values_list("id", flat=True)
    )


def test_due_rows_are_read_through_the_due_index(db):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    query = due_messages(now=timezone.now())[:100]

    plan = query.explain()

    assert "outbox_due_idx" in plan
