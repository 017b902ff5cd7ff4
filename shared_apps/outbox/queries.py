"""Reading outbox rows (for platform admins and the metrics)."""

from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.db.models import QuerySet
from django.db.models.functions import Coalesce

from shared_apps.errors import NotFound
from shared_apps.outbox.models import OutboxMessage
from shared_apps.outbox.services import due_messages


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


@dataclass(frozen=True)
class OutboxBacklog:
    due: int
    oldest_due_at: datetime | None
    dead: int


def outbox_backlog(*, now: datetime) -> OutboxBacklog:
    """How many rows are due and unsent, since when the oldest of them is due, and how many
    are dead: three reads of the partial indexes, whatever the table holds besides."""
    due = due_messages(now=now)
    oldest = due.values_list(Coalesce("run_at", "created_at"), flat=True).first()
    return OutboxBacklog(
        due=due.count(), oldest_due_at=oldest, dead=OutboxMessage.objects.filter(dead_at__isnull=False).count()
    )
