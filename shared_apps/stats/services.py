"""The platform dashboard: jobs roll usage up into public tables (TenantUsage, one row per
business, hourly; PlatformSnapshot, one row, every minute), and `platform_stats` answers from
those, in a fixed handful of index reads whatever the number of businesses."""

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from shared_apps.accounts.models import RefreshToken
from shared_apps.outbox.models import OutboxMessage
from shared_apps.stats.models import PlatformSnapshot, TenantUsage
from shared_apps.stats.sources import usage_sources
from shared_apps.tenants.every_tenant import run_in_every_active_tenant
from shared_apps.tenants.models import Tenant
from shared_apps.webhooks.models import WebhookEvent

# Usage is counted over this window, and "active" means signed in within it.
USAGE_WINDOW = timedelta(days=30)
WEBHOOK_WINDOW = timedelta(days=1)
SORTS = ("sms_segments", "call_minutes", "card_volume", "storage_bytes")
# The rollup column each sort reads (minutes are counted in seconds).
_SORT_COLUMNS = {"call_minutes": "call_seconds"}

_SCHEMA_SIZES = """
    SELECT n.nspname, COALESCE(SUM(pg_total_relation_size(c.oid)), 0)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'm') AND n.nspname = ANY(%s)
    GROUP BY n.nspname
"""


def _schema_sizes(schema_names: list[str]) -> dict[str, int]:
    """Bytes on disk of each schema's tables with their indexes and TOAST (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(_SCHEMA_SIZES, [schema_names])
        return {name: int(size) for name, size in cursor.fetchall()}


def roll_up_tenant_usage(*, now: datetime | None = None) -> int:
    """Measure every active business (in its schema, through the sources tenant apps
    registered) and store it in its TenantUsage row. Run by a job, never by a request.
    Returns how many businesses were measured."""
    now = now or timezone.now()
    since = now - USAGE_WINDOW
    active = Tenant.objects.active()
    sizes = _schema_sizes(list(active.values_list("schema_name", flat=True)))
    last_active = dict(
        RefreshToken.objects.filter(created_at__gte=since, tenant__in=active)
        .values("tenant_id")
        .annotate(last=Max("created_at"))
        .values_list("tenant_id", "last")
    )
    sources = usage_sources()

    def measure(tenant: Tenant) -> int:
        usage = {metric: source(since) for metric, source in sources.items()}
        with transaction.atomic():
            TenantUsage.objects.update_or_create(
                tenant=tenant,
                defaults={
                    **usage,
                    "computed_at": now,
                    "currency": tenant.currency,
                    "storage_bytes": sizes.get(tenant.schema_name, 0),
                    "last_active_at": last_active.get(tenant.pk),
                },
            )
        return 1

    return run_in_every_active_tenant(measure)


def roll_up_platform(*, queue_depth: dict[str, int], now: datetime | None = None) -> PlatformSnapshot:
    """Store what the dashboard shows of the whole platform: businesses by status, sign-ups
    per UTC day over the usage window, businesses active in it, usage totals (from the usage
    rollups), provider webhooks over the last day, and the job queues' depth (measured by the
    caller, which owns the broker). Run every minute by the scheduler."""
    now = now or timezone.now()
    since = now - USAGE_WINDOW
    claimed = Tenant.objects.exclude(status=Tenant.Status.POOLED)
    by_status = dict(claimed.values("status").annotate(n=Count("id")).values_list("status", "n"))
    days = dict(
        claimed.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    first_day: date = since.astimezone(UTC).date()
    every_day = [
        first_day + timedelta(days=offset) for offset in range((now.astimezone(UTC).date() - first_day).days + 1)
    ]
    totals = TenantUsage.objects.aggregate(
        active=Count("pk", filter=Q(last_active_at__gte=since)),
        sms_segments=Sum("sms_segments", default=0),
        call_seconds=Sum("call_seconds", default=0),
        storage_bytes=Sum("storage_bytes", default=0),
    )
    card_volume = (
        TenantUsage.objects.filter(card_volume__gt=0)
        .values("currency")
        .annotate(amount=Sum("card_volume"))
        .order_by("currency")
    )
    webhook_counts = (
        WebhookEvent.objects.filter(received_at__gte=now - WEBHOOK_WINDOW)
        .values("provider")
        .annotate(received=Count("id"), failed=Count("id", filter=Q(status=WebhookEvent.Status.FAILED)))
        .order_by("provider")
    )
    snapshot, _ = PlatformSnapshot.objects.update_or_create(
        pk=1,
        defaults={
            "computed_at": now,
            "tenants_by_status": {
                str(status): by_status.get(status, 0) for status in (Tenant.Status.ACTIVE, Tenant.Status.SUSPENDED)
            },
            "signups_per_day": [{"day": day.isoformat(), "count": days.get(day, 0)} for day in every_day],
            "active_tenants": totals["active"],
            "usage_totals": {
                "sms_segments": totals["sms_segments"],
                "call_minutes": math.ceil(totals["call_seconds"] / 60),
                "storage_bytes": totals["storage_bytes"],
                "card_volume": list(card_volume),
            },
            "webhooks": {
                row["provider"]: {
                    "received": row["received"],
                    "failed": row["failed"],
                    "failure_rate": round(row["failed"] / row["received"], 4),
                }
                for row in webhook_counts
            },
            "queue_depth": queue_depth,
        },
    )
    return snapshot


@dataclass(frozen=True)
class PlatformStats:
    """The dashboard's answer: the last snapshot's figures (empty before its job first ran),
    the biggest users and the outbox counted now."""

    snapshot_at: datetime | None
    tenants_by_status: dict[str, int]
    signups_per_day: list[dict[str, Any]]
    active_last_30_days: int
    usage_totals: dict[str, Any]
    webhooks: dict[str, Any]
    queue_depth: dict[str, int]
    top_usage: list[dict[str, Any]]
    dead_outbox: int
    outbox_backlog: int


def _usage_row(usage: TenantUsage) -> dict[str, Any]:
    tenant = usage.tenant
    return {
        "tenant_id": usage.tenant_id,
        "slug": tenant.slug or "",
        "status": tenant.status,
        "sms_segments": usage.sms_segments,
        "call_minutes": math.ceil(usage.call_seconds / 60),
        "card_volume": usage.card_volume,
        "currency": usage.currency,
        "storage_bytes": usage.storage_bytes,
        "last_active_at": usage.last_active_at,
        "computed_at": usage.computed_at,
    }


def platform_stats(*, sort: str = "sms_segments", limit: int = 20) -> PlatformStats:
    """The dashboard: the last platform snapshot (None before the first run of its job), the
    `limit` biggest users by `sort` (through the rollups' index on it) and the outbox's dead
    and waiting rows (counted live through their partial indexes). A fixed handful of index
    reads, whatever the number of businesses."""
    column = _SORT_COLUMNS.get(sort, sort)
    top = TenantUsage.objects.select_related("tenant").order_by(f"-{column}", "tenant_id")[:limit]
    snapshot = PlatformSnapshot.objects.filter(pk=1).first()
    return PlatformStats(
        snapshot_at=snapshot.computed_at if snapshot else None,
        tenants_by_status=snapshot.tenants_by_status if snapshot else {},
        signups_per_day=snapshot.signups_per_day if snapshot else [],
        active_last_30_days=snapshot.active_tenants if snapshot else 0,
        usage_totals=snapshot.usage_totals if snapshot else {},
        webhooks=snapshot.webhooks if snapshot else {},
        queue_depth=snapshot.queue_depth if snapshot else {},
        top_usage=[_usage_row(usage) for usage in top],
        # Each count reads only its partial index (outbox_dead_idx, outbox_due_idx).
        dead_outbox=OutboxMessage.objects.filter(dead_at__isnull=False).count(),
        outbox_backlog=OutboxMessage.objects.filter(published_at__isnull=True, dead_at__isnull=True).count(),
    )
