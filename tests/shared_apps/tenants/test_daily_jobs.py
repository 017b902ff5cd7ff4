"""Each tenant's daily jobs: due at 00:05 in its own zone (across DST), written at activation
and by each run for the next day, never twice."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from shared_apps.outbox.models import OutboxMessage
from shared_apps.tenants import services as tenant_services
from shared_apps.tenants.daily_jobs import (
    DAILY_JOBS,
    DAILY_RUN_TIME,
    pending_daily_runs,
    run_daily_job,
    schedule_daily_jobs,
)
from shared_apps.tenants.localtime import wall_clock_instant
from shared_apps.tenants.models import Tenant
from tasks import actors
from tenant_apps.invoices.models import Invoice
from tenant_apps.quotes.models import Quote
from tests.tenant_apps.invoices.factories import sent_invoice
from tests.tenant_apps.quotes.factories import sent_quote


def runs_of(tenant: Tenant) -> list[tuple[str, datetime, str]]:
    return sorted(
        (row.actor_name, row.run_at, row.kwargs["local_day"])
        for row in pending_daily_runs(schema_name=tenant.schema_name)
    )


@pytest.fixture
def new_york(tenant_a) -> Tenant:
    pending_daily_runs(schema_name=tenant_a.tenant.schema_name).delete()
    return tenant_a.tenant


def test_a_new_tenant_has_its_daily_jobs_due_at_five_past_midnight_local(db):
    tenant = tenant_services.create_tenant(slug="daily-jobs-new", name="New", timezone_name="Asia/Tokyo")

    runs = runs_of(tenant)

    assert [name for name, _, _ in runs] == sorted(DAILY_JOBS)
    for _, run_at, local_day in runs:
        local = run_at.astimezone(tenant.zone)
        assert (local.hour, local.minute, local.date().isoformat()) == (0, 5, local_day)
        assert timezone.now() < run_at <= timezone.now() + timedelta(days=1)


@pytest.mark.parametrize(
    ("ran_on", "next_run_utc"),
    [
        # 00:05 EST on the day clocks spring forward; the next run is 00:05 EDT.
        ("2026-03-08", datetime(2026, 3, 9, 4, 5, tzinfo=UTC)),
        # 00:05 EDT on the day clocks fall back; the next run is 00:05 EST.
        ("2026-11-01", datetime(2026, 11, 2, 5, 5, tzinfo=UTC)),
    ],
)
def test_the_next_run_stays_at_five_past_midnight_local_across_dst(new_york, ran_on, next_run_utc):
    this_run = wall_clock_instant(date.fromisoformat(ran_on), DAILY_RUN_TIME, new_york.zone)

    run_daily_job(job="expire_quotes", tenant_id=new_york.pk, local_day=ran_on, work=lambda *_: None, now=this_run)

    assert runs_of(new_york) == [("expire_quotes", next_run_utc, next_run_utc.date().isoformat())]


def test_a_run_whose_clock_is_a_little_behind_still_schedules_tomorrow(new_york):
    this_run = datetime(2026, 6, 10, 4, 5, tzinfo=UTC)  # 00:05 EDT

    run_daily_job(
        job="expire_quotes",
        tenant_id=new_york.pk,
        local_day="2026-06-10",
        work=lambda *_: None,
        now=this_run - timedelta(seconds=3),
    )

    assert runs_of(new_york) == [("expire_quotes", datetime(2026, 6, 11, 4, 5, tzinfo=UTC), "2026-06-11")]


def test_a_redelivered_run_schedules_the_next_one_once(new_york):
    for _ in range(3):
        run_daily_job(job="mark_overdue_invoices", tenant_id=new_york.pk, local_day="2026-06-10", work=lambda *_: None)

    assert len(runs_of(new_york)) == 1


def test_the_daily_actors_expire_quotes_and_mark_invoices_overdue(new_york, tenant_a):
    with tenant_a.schema():
        quote = sent_quote(new_york)
        invoice = sent_invoice(new_york)
        yesterday = timezone.now().astimezone(new_york.zone).date() - timedelta(days=1)
        Quote.objects.filter(pk=quote.pk).update(valid_until=yesterday)
        Invoice.objects.filter(pk=invoice.pk).update(due_date=yesterday)
        today = (yesterday + timedelta(days=1)).isoformat()

        actors.expire_quotes.fn(tenant_id=new_york.pk, local_day=today)
        actors.mark_overdue_invoices.fn(tenant_id=new_york.pk, local_day=today)

        assert Quote.objects.get(pk=quote.pk).status == Quote.Status.EXPIRED
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.OVERDUE
    assert [name for name, _, _ in runs_of(new_york)] == ["expire_quotes", "mark_overdue_invoices"]


def test_a_failing_run_is_retried_but_tomorrows_run_is_kept(new_york):
    def fail(tenant, now):
        raise RuntimeError("database hiccup")

    with pytest.raises(RuntimeError):
        run_daily_job(job="expire_quotes", tenant_id=new_york.pk, local_day="2026-06-10", work=fail)

    assert len(runs_of(new_york)) == 1


def test_a_suspended_tenants_work_is_skipped_but_its_schedule_kept(new_york):
    Tenant.objects.filter(pk=new_york.pk).update(status=Tenant.Status.SUSPENDED)
    ran = []

    run_daily_job(
        job="expire_quotes", tenant_id=new_york.pk, local_day="2026-06-10", work=lambda *args: ran.append(args)
    )

    assert ran == []
    assert len(runs_of(new_york)) == 1


def test_changing_the_time_zone_moves_the_waiting_runs(new_york, tenant_a):
    schedule_daily_jobs(tenant=new_york)

    tenant_a.api().patch("/tenants/me", {"timezone": "Australia/Sydney"})

    runs = runs_of(new_york)
    sydney = Tenant(timezone="Australia/Sydney")
    assert len(runs) == len(DAILY_JOBS)
    assert all(run_at.astimezone(sydney.zone).time().isoformat() == "00:05:00" for _, run_at, _ in runs)


def test_backfill_schedules_missing_daily_jobs_once(new_york):
    call_command("schedule_daily_jobs")
    call_command("schedule_daily_jobs")

    assert [name for name, _, _ in runs_of(new_york)] == sorted(DAILY_JOBS)


def test_deleting_a_tenant_removes_its_waiting_jobs(db):
    tenant = tenant_services.create_tenant(slug="daily-jobs-gone", name="Gone")
    schema_name = tenant.schema_name
    connection.set_schema_to_public()

    tenant_services.delete_tenant(tenant_id=tenant.pk)

    assert not OutboxMessage.objects.filter(schema_name=schema_name).exists()
