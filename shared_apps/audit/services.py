"""Writing the audit trail, reading it a page at a time, and ending it after its retention.

`record` is called by the one service that owns each sensitive action, inside that action's
transaction: the row exists exactly when the change does (a failed login, which changes
nothing, is recorded on its own). docs/audit.md says why this is not a domain-event
subscriber or a row-history library."""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from shared_apps.audit.context import current_origin
from shared_apps.audit.models import AuditEvent
from shared_apps.errors import ValidationFailed
from shared_apps.events.actors import current_actor

MASK = "***"
# Setting names that hold secrets: their values never reach the trail, only that they changed.
_SECRET_NAME = re.compile(r"secret|token|password|passphrase|api_key|private|credential", re.IGNORECASE)
_CURSOR_SALT = "audit.cursor"
# The session setting the append-only trigger checks before it lets a DELETE through; only
# `purge_audit_events` sets it, for its own transaction (SET LOCAL).
PURGE_SETTING = "audit.purge"


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def masked(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with the value of every secret-named key replaced by MASK (blank stays blank,
    so "was it set" still shows)."""
    return {key: (MASK if is_secret_name(key) and value not in (None, "") else value) for key, value in values.items()}


def changed_fields(*, before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`{field: {"before": ..., "after": ...}}` for the fields whose value changed, secrets
    masked, as JSON (times and dates as ISO text)."""
    changed = sorted(field for field in after if before.get(field) != after[field])
    old, new = masked({f: before.get(f) for f in changed}), masked({f: after[f] for f in changed})
    return json.loads(
        json.dumps({field: {"before": old[field], "after": new[field]} for field in changed}, cls=DjangoJSONEncoder)
    )


def _user_id(actor: str) -> int | None:
    kind, _, value = actor.partition(":")
    return int(value) if kind == "user" and value.isdigit() else None


def record(
    *,
    action: str,
    tenant_id: int | None,
    target: str = "",
    details: Mapping[str, Any] | None = None,
    actor: str | None = None,
) -> AuditEvent:
    """Append one audit row for `action` in the caller's transaction, naming whoever the
    request or job acts as (or `actor`) and where the request came from."""
    actor = actor or current_actor()
    origin = current_origin()
    return AuditEvent.objects.create(
        tenant_id=tenant_id,
        action=action,
        actor=actor,
        actor_user_id=_user_id(actor),
        target=target[:200],
        ip=origin.ip,
        user_agent=origin.user_agent[:500],
        request_id=origin.request_id[:128],
        details=dict(details or {}),
    )


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEvent]
    next_cursor: str | None


def _encode_cursor(*, scope: str, last_id: int) -> str:
    return signing.dumps([scope, last_id], salt=_CURSOR_SALT)


def _decode_cursor(*, scope: str, cursor: str) -> int:
    """The id a cursor of this trail (this business, or the platform's) continues after."""
    try:
        owner, last_id = signing.loads(cursor, salt=_CURSOR_SALT)
        last_id = int(last_id)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise ValidationFailed(
            "Invalid audit cursor.", details=[{"field": "cursor", "message": "Not a cursor of this audit trail."}]
        ) from error
    if owner != scope:
        raise ValidationFailed(
            "Invalid audit cursor.", details=[{"field": "cursor", "message": "Cursor of another audit trail."}]
        )
    return last_id


def list_audit_events(
    *,
    tenant_id: int | None,
    limit: int,
    cursor: str | None = None,
    actor_user_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    whole_platform: bool = False,
) -> AuditPage:
    """A business's trail (or, with `whole_platform`, every row; `tenant_id` then narrows it),
    newest first, `limit` rows after `cursor`: one keyset query on (tenant, id), so a deep
    page costs what the first does. `action` matches one action or, ending in ".", a family
    ("invitation.")."""
    scope = "platform" if whole_platform else f"tenant:{tenant_id}"
    rows: QuerySet[AuditEvent] = AuditEvent.objects.order_by("-id")
    if not whole_platform or tenant_id is not None:
        rows = rows.filter(tenant_id=tenant_id)
    if cursor:
        rows = rows.filter(id__lt=_decode_cursor(scope=scope, cursor=cursor))
    if actor_user_id is not None:
        rows = rows.filter(actor_user_id=actor_user_id)
    if action:
        rows = rows.filter(action__startswith=action) if action.endswith(".") else rows.filter(action=action)
    if since is not None:
        rows = rows.filter(occurred_at__gte=since)
    if until is not None:
        rows = rows.filter(occurred_at__lt=until)
    items = list(rows[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    return AuditPage(items=items, next_cursor=_encode_cursor(scope=scope, last_id=items[-1].pk) if more else None)


def tenant_audit_rows(*, tenant_id: int) -> QuerySet[AuditEvent]:
    """A business's whole trail, oldest first (its export)."""
    return AuditEvent.objects.filter(tenant_id=tenant_id).order_by("id")


def purge_audit_events(*, now: datetime | None = None) -> int:
    """Delete the rows older than AUDIT_RETENTION_DAYS (the scheduler runs it daily). The
    append-only trigger lets a DELETE through only while this transaction has set
    PURGE_SETTING, and only of rows past the cut-off it names."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [PURGE_SETTING, cutoff.isoformat()])
        deleted, _ = AuditEvent.objects.filter(occurred_at__lt=cutoff).delete()
    return deleted
