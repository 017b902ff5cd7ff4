"""Recording and relaying outbox messages."""

from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from shared_apps.outbox.models import OutboxMessage


def enqueue_after_commit(*, actor_name: str, schema_name: str = "", **kwargs: Any) -> OutboxMessage:
    """Record a job in the caller's transaction; it is published only if that commits."""
    return OutboxMessage.objects.create(actor_name=actor_name, schema_name=schema_name, kwargs=kwargs)


def relay_outbox(*, publish: Callable[[OutboxMessage], None], batch_size: int = 100) -> int:
    """Publish unsent messages oldest first and mark them sent. Rows are locked with SKIP
    LOCKED so several relays never publish one message twice. Returns how many were sent."""
    connection.set_schema_to_public()
    sent = 0
    with transaction.atomic():
        batch = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(published_at__isnull=True)
            .order_by("id")[:batch_size]
        )
        for message in batch:
            publish(message)
            message.published_at = timezone.now()
            message.attempts += 1
            message.save(update_fields=["published_at", "attempts"])
            sent += 1
    return sent
