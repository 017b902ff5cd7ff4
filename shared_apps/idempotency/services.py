"""The rules for Idempotency-Key records: who runs a request, what is replayed, and when a
key is free again (its request crashed, was abandoned, or its record expired)."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from shared_apps.idempotency.models import IdempotencyRecord

# How long a first answer is replayed; the purge job deletes older records.
RECORD_TTL = timedelta(hours=24)
# A request still in progress after this long was killed (gunicorn's worker timeout is 30 s)
# and never released its key: the next request with that key runs instead of answering 409.
IN_PROGRESS_TIMEOUT = timedelta(seconds=60)


class KeyReused(Exception):
    """The key was used with another request."""


class KeyInProgress(Exception):
    """The first request with this key has not answered yet."""


def claim_idempotency_key(*, scope: str, key: str, request_hash: str) -> IdempotencyRecord:
    """The record to answer from: a new in-progress record the caller now owns (`status_code`
    is None; the caller completes or releases it), or a completed one to replay. The claim is
    committed at once, so a concurrent request with the same key sees it."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(scope=scope, key=key, request_hash=request_hash)
    except IntegrityError:
        pass
    expired = Q(created_at__lt=now - RECORD_TTL)
    abandoned = Q(status_code__isnull=True, created_at__lt=now - IN_PROGRESS_TIMEOUT)
    # One UPDATE: of two requests taking over the same abandoned key, only one matches.
    taken_over = (
        IdempotencyRecord.objects.filter(expired | abandoned, scope=scope, key=key).update(
            request_hash=request_hash, status_code=None, response_body=None, content_type="", created_at=now
        )
        == 1
    )
    record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    if record is None:
        # Released between our insert and this read: the key is busy for a moment.
        raise KeyInProgress
    if taken_over:
        return record
    if record.request_hash != request_hash:
        raise KeyReused
    if record.status_code is None:
        raise KeyInProgress
    return record


def complete_idempotency_key(*, record: IdempotencyRecord, status_code: int, body: bytes, content_type: str) -> None:
    """Store the first answer for replays. Callers never pass an answer carrying a secret.
    A claim taken over meanwhile (this request outlived IN_PROGRESS_TIMEOUT) is left alone."""
    _own_claim(record).update(status_code=status_code, response_body=body, content_type=content_type)


def release_idempotency_key(*, record: IdempotencyRecord) -> None:
    """Forget a claim whose request failed, so a retry with the same key runs."""
    _own_claim(record).delete()


def _own_claim(record: IdempotencyRecord):
    return IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at, status_code__isnull=True)


def purge_expired_idempotency_records() -> int:
    """Delete records older than RECORD_TTL (run periodically by the scheduler)."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - RECORD_TTL).delete()
    return deleted
