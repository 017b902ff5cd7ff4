"""Each tenant's daily jobs (expire quotes, mark invoices overdue) run at 00:05 in the
tenant's own zone, as outbox rows due then: the scheduler reads only what is due, however
many tenants exist. Rows are written when a tenant is activated, and each run writes the
next one in its own transaction. One row per (job, tenant, local day) at most, so a doubled
run or a backfill never schedules a job twice."""

from collections.abc import Callable
from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone

from shared_apps.outbox.models import OutboxMessage
from shared_apps.outbox.services import enqueue_after_commit
from shared_apps.tenants.localtime import next_wall_clock_instant, wall_clock_instant
from shared_apps.tenants.models import Tenant

# Actor names of the daily jobs (tasks/actors.py).
DAILY_JOBS = (
    "expire_quotes",
    "mark_overdue_invoices",
    "send_payment_reminders",
    "reconcile_stripe_payments",
    "materialise_appointment_series",
)
# Local time of the daily run: just after the day the rules look at has ended.
DAILY_RUN_TIME = time(0, 5)


def schedule_daily_job(*, tenant: Tenant, job: str, after: datetime) -> OutboxMessage | None:
    """Write `job`'s next run, the first local 00:05 after `after` (None if already there)."""
    zone = tenant.zone
    run_at = next_wall_clock_instant(after=after, wall=DAILY_RUN_TIME, zone=zone)
    local_day = run_at.astimezone(zone).date()
    return enqueue_after_commit(
        actor_name=job,
        schema_name=tenant.schema_name,
        run_at=run_at,
        dedupe_key=f"daily:{job}:{tenant.schema_name}:{local_day.isoformat()}",
        tenant_id=tenant.pk,
        local_day=local_day.isoformat(),
    )


def schedule_daily_jobs(*, tenant: Tenant, after: datetime | None = None) -> int:
    """Write every daily job's next run for `tenant`; returns how many rows were new."""
    after = after or timezone.now()
    return sum(schedule_daily_job(tenant=tenant, job=job, after=after) is not None for job in DAILY_JOBS)


def reschedule_daily_jobs(*, tenant: Tenant) -> int:
    """After a change of time zone: the waiting runs move to 00:05 in the new zone."""
    with transaction.atomic():
        pending_daily_runs(schema_name=tenant.schema_name).delete()
        return schedule_daily_jobs(tenant=tenant)


def pending_daily_runs(*, schema_name: str):
    return OutboxMessage.objects.filter(
        schema_name=schema_name, actor_name__in=DAILY_JOBS, published_at__isnull=True, dead_at__isnull=True
    )


def backfill_daily_jobs() -> int:
    """Schedule the daily jobs of every active or suspended tenant that lacks them (tenants
    activated before daily jobs existed); returns how many rows were written."""
    tenants = Tenant.objects.filter(status__in=(Tenant.Status.ACTIVE, Tenant.Status.SUSPENDED)).order_by("pk")
    written = 0
    for tenant in tenants.iterator(chunk_size=500):
        with transaction.atomic():
            written += schedule_daily_jobs(tenant=tenant)
    return written


def run_daily_job(
    *, job: str, tenant_id: int, local_day: str, work: Callable[[Tenant, datetime], object], now: datetime | None = None
) -> bool:
    """Run `work(tenant, now)` for the day's run of `job` and write the next run, in one
    transaction. When the work fails the next run is still written (the chain never breaks)
    and the error is raised so the job is retried. A suspended tenant's work is skipped but
    its schedule kept; a deleted tenant's chain ends. Returns whether the work ran."""
    tenant = Tenant.objects.filter(pk=tenant_id).exclude(status=Tenant.Status.POOLED).first()
    if tenant is None:
        return False
    now = now or timezone.now()
    # The next run is the 00:05 after this one's, even if this clock is a little behind.
    this_run = wall_clock_instant(date.fromisoformat(local_day), DAILY_RUN_TIME, tenant.zone)
    failure: Exception | None = None
    with transaction.atomic():
        schedule_daily_job(tenant=tenant, job=job, after=max(now, this_run))
        if tenant.is_active:
            try:
                with transaction.atomic():
                    work(tenant, now)
            except Exception as error:
                failure = error
    if failure is not None:
        raise failure
    return tenant.is_active
