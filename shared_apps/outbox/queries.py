"""Reading outbox rows (for platform admins)."""

from django.db import models
from django.db.models import QuerySet

from shared_apps.errors import NotFound
from shared_apps.outbox.models import OutboxMessage


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be published (due or not yet)"
    PUBLISHED = "published", "Handed to the broker"
    DEAD = "dead", "Parked after too many failed publishes"


def list_outbox_messages(*, status: OutboxStatus | None = None) -> QuerySet[OutboxMessage]:
    """Outbox rows, newest first, optionally of one status."""
    messages = OutboxMessage.objects.order_by("-id")
    if status == OutboxStatus.DEAD:
        return messages.filter(dead_at__isnull=False)
    if status == OutboxStatus.PUBLISHED:
        return messages.filter(published_at__isnull=False)
    if status == OutboxStatus.PENDING:
        return messages.filter(published_at__isnull=True, dead_at__isnull=True)
    return messages


def get_outbox_message(*, message_id: int) -> OutboxMessage:
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is None:
        raise NotFound("Outbox message not found.")
    return message
