"""Recording and relaying outbox messages."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from shared_apps.outbox.models import OutboxMessage


def enqueue_after_commit(
    *, actor_name: str, schema_name: str = "", run_at: datetime | None = None, **kwargs: Any
) -> OutboxMessage:
    """Record a job in the caller's transaction; it is published only if that commits, and
    not before `run_at` (at once when None)."""
    return OutboxMessage.objects.create(actor_name=actor_name, schema_name=schema_name, run_at=run_at, kwargs=kwargs)


def due_messages(*, now: datetime):
    """Unsent, live rows due at `now`, in due order: a range scan of `outbox_due_idx`."""
    return (
        OutboxMessage.objects.alias(due_at=Coalesce("run_at", "created_at"))
        .filter(published_at__isnull=True, dead_at__isnull=True, due_at__lte=now)
        .order_by("due_at", "id")
    )


def relay_outbox(*, publish: Callable[[OutboxMessage], None], batch_size: int = 100) -> int:
    """Publish due messages oldest first and mark them sent. Rows are locked with SKIP
    LOCKED so several relays never publish one message twice. Returns how many were sent."""
    connection.set_schema_to_public()
    sent = 0
    with transaction.atomic():
        batch = list(due_messages(now=timezone.now()).select_for_update(skip_locked=True)[:batch_size])
        for message in batch:
            publish(message)
            message.published_at = timezone.now()
            message.attempts += 1
            message.save(update_fields=["published_at", "attempts"])
            sent += 1
    return sent
