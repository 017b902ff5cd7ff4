"""Recording and relaying outbox messages."""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from shared_apps.errors import NotFound
from shared_apps.observability.tracing import current_trace_context
from shared_apps.outbox.models import OutboxMessage

logger = logging.getLogger("outbox")

# Failed publishes of one message before it is parked as dead, and the first retry delay
# (doubling after each failure).
MAX_ATTEMPTS = 5
RETRY_BACKOFF = timedelta(seconds=30)
# How long a published row is kept (for inspection, and so its dedupe key still refuses a
# repeat of the same job); older ones are deleted by the purge job.
PUBLISHED_RETENTION = timedelta(days=7)


def enqueue_after_commit(
    *,
    actor_name: str,
    schema_name: str = "",
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    **kwargs: Any,
) -> OutboxMessage | None:
    """Record a job in the caller's transaction; it is published only if that commits, and
    not before `run_at` (at once when None). With a `dedupe_key` the row is written only if
    no row has that key yet (returns None otherwise), so a job scheduled twice runs once."""
    message = OutboxMessage(
        actor_name=actor_name,
        schema_name=schema_name,
        run_at=run_at,
        dedupe_key=dedupe_key,
        kwargs=kwargs,
        trace_context=current_trace_context(),
    )
    if dedupe_key is None:
        message.save()
        return message
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        return None
    return message


def due_messages(*, now: datetime):
    """Unsent, live rows due at `now`, in due order: a range scan of `outbox_due_idx`."""
    return (
        OutboxMessage.objects.alias(due_at=Coalesce("run_at", "created_at"))
        .filter(published_at__isnull=True, dead_at__isnull=True, due_at__lte=now)
        .order_by("due_at", "id")
    )


def relay_outbox(
    *,
    publish: Callable[[OutboxMessage], None],
    broker_errors: tuple[type[Exception], ...] = (),
    batch_size: int = 100,
) -> int:
    """Publish due messages oldest first and mark them sent. Rows are locked with SKIP
    LOCKED, so several relays never publish one message twice. Each message is published
    and marked in its own savepoint: a bad one (unknown actor) is recorded as a failed
    attempt and retried later (MAX_ATTEMPTS, then parked as dead) while the others are
    marked. A `broker_errors` failure (broker away) ends the pass without counting against
    the message: what was marked commits, then the error is raised so the caller backs off.
    A pass with nothing due is one query. Returns how many were sent."""
    connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' database backend
    now = timezone.now()
    # The usual pass finds nothing due: one read of the due index, no transaction. (Ordered,
    # so PostgreSQL walks the index rather than scanning the table as exists() may.)
    if not due_messages(now=now).values_list("pk", flat=True)[:1]:
        return 0
    sent = 0
    broker_error: Exception | None = None
    with transaction.atomic():
        batch = list(due_messages(now=now).select_for_update(skip_locked=True)[:batch_size])
        for message in batch:
            try:
                with transaction.atomic():
                    publish(message)
                    OutboxMessage.objects.filter(pk=message.pk).update(
                        published_at=timezone.now(), attempts=F("attempts") + 1
                    )
                sent += 1
            except broker_errors as error:
                broker_error = error
                break
            except Exception as error:
                _record_failed_attempt(message=message, error=error)
    if broker_error is not None:
        raise broker_error
    return sent


def republish_unstarted_outbox_messages(*, now: datetime | None = None) -> int:
    """Put back in the queue, due now, the rows published more than OUTBOX_REPUBLISH_AFTER ago
    that no worker has started: the broker lost them (a Redis restart without persistence, a
    flush). Harmless when the worker is only slow: it runs the first copy it takes and skips
    the others (claim_outbox_message). Returns how many were put back."""
    now = now or timezone.now()
    return OutboxMessage.objects.filter(
        published_at__lte=now - settings.OUTBOX_REPUBLISH_AFTER, started_at__isnull=True, dead_at__isnull=True
    ).update(published_at=None, run_at=now)


def claim_outbox_message(*, message_id: int, now: datetime | None = None) -> bool:
    """Mark an outbox job started as a worker takes its first copy; False when a copy was
    already taken (a re-publish of a job the broker still had) or the row is gone, so the
    caller skips it."""
    return bool(
        OutboxMessage.objects.filter(pk=message_id, started_at__isnull=True).update(started_at=now or timezone.now())
    )


def _record_failed_attempt(*, message: OutboxMessage, error: Exception) -> None:
    """Count the failure and put the row back later (exponential backoff) so it does not hold
    up the rows behind it; at MAX_ATTEMPTS it is parked as dead for a platform admin."""
    now = timezone.now()
    message.attempts += 1
    message.last_error = f"{type(error).__name__}: {error}"[:2000]
    if message.attempts >= MAX_ATTEMPTS:
        message.dead_at = now
        logger.error("Outbox message %s is dead after %s attempts", message.pk, message.attempts)
    else:
        message.run_at = now + RETRY_BACKOFF * 2 ** (message.attempts - 1)
        logger.warning("Outbox message %s failed (attempt %s)", message.pk, message.attempts, exc_info=error)
    message.save(update_fields=["attempts", "last_error", "dead_at", "run_at"])


def retry_dead_outbox_message(*, message_id: int) -> OutboxMessage:
    """Put a dead message back in the queue, due now, with a fresh count of attempts (after
    the cause, such as a renamed actor, is fixed)."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id, dead_at__isnull=False).first()
        if message is None:
            raise NotFound("No dead outbox message with that id.")
        message.dead_at = None
        message.attempts = 0
        message.run_at = timezone.now()
        message.save(update_fields=["dead_at", "attempts", "run_at"])
    return message


def purge_published_outbox_messages(*, now: datetime | None = None) -> int:
    """Delete rows published more than PUBLISHED_RETENTION ago (run periodically by the
    scheduler), so the outbox holds what is pending, dead or recent, not every job ever run."""
    cutoff = (now or timezone.now()) - PUBLISHED_RETENTION
    deleted, _ = OutboxMessage.objects.filter(published_at__lt=cutoff).delete()
    return deleted
