"""Reading calls and stored tool answers. Every read of the tenant's calls goes through here."""

from collections.abc import Sequence
from datetime import datetime

from django.db.models import QuerySet, Sum

from shared_apps.errors import NotFound
from tenant_apps.customers.history import HistoryEntry, HistoryWindow
from tenant_apps.voice.models import Call


def list_calls(*, customer_id: int | None = None, direction: str | None = None) -> QuerySet[Call]:
    """Newest first, both directions unless `direction` is given."""
    calls = Call.objects.order_by("-created_at", "-id")
    if customer_id is not None:
        calls = calls.filter(customer_id=customer_id)
    if direction:
        calls = calls.filter(direction=direction)
    return calls


def get_call(*, call_id: int) -> Call:
    call = Call.objects.filter(pk=call_id).first()
    if call is None:
        raise NotFound("Call not found.")
    return call


def get_call_for_update(*, call_id: int) -> Call | None:
    return Call.objects.select_for_update(no_key=True, of=("self",)).filter(pk=call_id).first()


def find_call_by_vapi_id(*, vapi_call_id: str) -> Call | None:
    if not vapi_call_id:
        return None
    return Call.objects.filter(vapi_call_id=vapi_call_id).first()


def unsettled_calls_before(*, statuses: Sequence[str], before: datetime, limit: int) -> list[Call]:
    """Outbound calls in one of `statuses` since before `before`, oldest first."""
    return list(
        Call.objects.filter(
            direction=Call.Direction.OUTBOUND, status__in=statuses, vapi_call_id__isnull=True, updated_at__lt=before
        ).order_by("updated_at", "id")[:limit]
    )


def call_history(customer_id: int, window: HistoryWindow) -> list[HistoryEntry]:
    """The customer's calls, both ways, newest first, in one query."""
    rows = window.rows(Call.objects.filter(customer_id=customer_id), time_field="created_at").values(
        "id", "direction", "status", "created_at", "duration_seconds", "summary", "ended_reason", "purpose"
    )
    return [
        HistoryEntry(
            kind="call",
            id=row["id"],
            occurred_at=row["created_at"],
            title=(row["summary"] or row["purpose"] or f"{row['direction'].capitalize()} call")[:80],
            status=row["status"],
            data={
                "direction": row["direction"],
                "duration_seconds": row["duration_seconds"],
                "ended_reason": row["ended_reason"] or None,
            },
        )
        for row in rows
    ]


def call_seconds(since: datetime) -> int:
    """Seconds of the business's calls (either way) started since `since` (usage stats)."""
    return Call.objects.filter(started_at__gte=since).aggregate(total=Sum("duration_seconds", default=0))["total"]
