"""Recurring visits: rules across DST in several zones, the horizon job, edit modes and
conflicts reported per occurrence. Dates are relative to a fixed anchor in next year (the
clock passed as `now`), never to the day the suite runs."""

import copy
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared_apps.errors import StaleVersion, ValidationFailed
from shared_apps.outbox.models import OutboxMessage
from tenant_apps.appointments import series as series_services
from tenant_apps.appointments import services, time_off
from tenant_apps.appointments.models import Appointment, AppointmentSeries, SeriesOccurrence
from tenant_apps.notifications.reminders import REMINDER_ACTOR
from tests.concurrency import run_at_once
from tests.events import deliver_events, emitted
from tests.factories import CustomerFactory

ZONES = ["America/New_York", "Europe/London", "Australia/Sydney"]


def anchor_year() -> int:
    return datetime.now(UTC).year + 1


def first_monday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=-first.weekday() % 7)


def offset_changes(zone: ZoneInfo, year: int) -> list[date]:
    """The days of `year` during which the zone's UTC offset changes (its DST transitions)."""
    day, changes = date(year, 1, 1), []
    while day.year == year:
        before = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
        after = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).utcoffset()
        if before != after:
            changes.append(day)
        day += timedelta(days=1)
    return changes


def in_zone(test_tenant, zone_name: str):
    """A copy of the test tenant in another zone (the services take the tenant as given; the
    session's own tenant object is shared by every test and stays as it is)."""
    tenant = copy.copy(test_tenant.tenant)
    tenant.timezone = zone_name
    return tenant


def local(day: date, hour: int, zone: ZoneInfo, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def make_series(tenant, *, starts_at: datetime, rrule: str, now: datetime, staff_id=None, **extra) -> AppointmentSeries:
    return series_services.create_series(
        tenant=tenant,
        customer_id=CustomerFactory().pk,
        title="Boiler service",
        starts_at=starts_at,
        duration_minutes=60,
        rrule=rrule,
        staff_id=staff_id,
        now=now,
        **extra,
    )


def visits(series: AppointmentSeries) -> list[Appointment]:
    return [
        occurrence.appointment
        for occurrence in series.occurrences.select_related("appointment").order_by("local_date")
        if occurrence.appointment is not None
    ]


@pytest.fixture
def long_horizon(settings):
    settings.APPOINTMENT_SERIES_HORIZON_DAYS = 400


@pytest.mark.parametrize("zone_name", ZONES)
def test_weekly_visits_keep_their_wall_clock_time_across_both_dst_changes(tenant_a, long_horizon, zone_name):
    zone = ZoneInfo(zone_name)
    year = anchor_year()
    start = first_monday(year, 1)
    tenant = in_zone(tenant_a, zone_name)
    with tenant_a.schema():
        series = make_series(
            tenant, starts_at=local(start, 9, zone), rrule="FREQ=WEEKLY;COUNT=52", now=local(start, 0, zone)
        )
        booked = visits(series)

    offsets = Counter(visit.starts_at.astimezone(zone).utcoffset() for visit in booked)
    assert len(booked) == 52
    assert {visit.starts_at.astimezone(zone).time() for visit in booked} == {time(9)}
    assert {visit.starts_at.astimezone(zone).weekday() for visit in booked} == {0}
    assert len(offsets) == 2  # both sides of the zone's DST changes
    assert len(offset_changes(zone, year)) == 2
    assert {visit.ends_at - visit.starts_at for visit in booked} == {timedelta(hours=1)}


@pytest.mark.parametrize("zone_name", ["America/New_York", "Europe/London"])
def test_a_visit_on_the_spring_forward_day_inside_the_gap_starts_when_the_gap_ends(tenant_a, zone_name):
    zone = ZoneInfo(zone_name)
    # The change that skips an hour is the one in spring (northern zones: the first of the year).
    spring = offset_changes(zone, anchor_year())[0]
    gap_hour = {"America/New_York": 2, "Europe/London": 1}[zone_name]
    tenant = in_zone(tenant_a, zone_name)
    with tenant_a.schema():
        series = make_series(
            tenant,
            starts_at=local(spring - timedelta(days=1), gap_hour, zone, 30),
            rrule="FREQ=DAILY;COUNT=3",
            now=local(spring - timedelta(days=2), 0, zone),
        )
        booked = [visit.starts_at.astimezone(zone) for visit in visits(series)]

    assert [moment.time() for moment in booked] == [time(gap_hour, 30), time(gap_hour + 1), time(gap_hour, 30)]
    assert [moment.date() for moment in booked] == [spring - timedelta(days=1), spring, spring + timedelta(days=1)]


def test_visits_are_booked_only_up_to_the_horizon_and_the_daily_job_moves_it_on_once(tenant_a, settings):
    settings.APPOINTMENT_SERIES_HORIZON_DAYS = 20
    zone = tenant_a.tenant.zone
    start = first_monday(anchor_year(), 2)
    now = local(start, 0, zone)
    with tenant_a.schema():
        series = make_series(tenant_a.tenant, starts_at=local(start, 9, zone), rrule="FREQ=WEEKLY", now=now)
        first = len(visits(series))

        later = now + timedelta(days=14)
        written = series_services.materialise_series(tenant=tenant_a.tenant, now=later)
        again = series_services.materialise_series(tenant=tenant_a.tenant, now=later)
        series.refresh_from_db()
        days = list(series.occurrences.values_list("local_date", flat=True))

    assert first == 3  # start, +7, +14 (20 days ahead)
    assert (written, again) == (2, 0)
    assert days == [start + timedelta(weeks=week) for week in range(5)]
    assert series.materialised_until == start + timedelta(days=34)


def test_each_clashing_occurrence_is_reported_with_its_reason_and_retried_by_the_job(tenant_a):
    tenant = tenant_a.tenant
    zone = tenant.zone
    staff = tenant_a.staff.pk
    start = first_monday(anchor_year(), 3)
    now = local(start, 0, zone)
    with tenant_a.schema():
        other = services.create_appointment(
            tenant=tenant,
            customer_id=CustomerFactory().pk,
            title="Other job",
            starts_at=local(start + timedelta(weeks=1), 9, zone),
            ends_at=local(start + timedelta(weeks=1), 11, zone),
            staff_id=staff,
        )
        off = time_off.create_time_off(
            tenant=tenant,
            actor_user_id=tenant_a.owner.pk,
            actor_role="owner",
            staff_id=staff,
            starts_at=local(start + timedelta(weeks=2), 0, zone),
            ends_at=local(start + timedelta(weeks=2), 23, zone),
        )
        closed = time_off.create_closed_day(
            tenant=tenant, actor_user_id=tenant_a.owner.pk, starts_on=start + timedelta(weeks=3)
        )
        series = make_series(
            tenant, starts_at=local(start, 9, zone), rrule="FREQ=WEEKLY;COUNT=5", now=now, staff_id=staff
        )
        occurrences = list(series.occurrences.order_by("local_date"))
        conflict_events = emitted("appointment_series.occurrence_conflict")

        time_off.delete_time_off(actor_user_id=tenant_a.owner.pk, actor_role="owner", time_off_id=off.pk)
        series_services.materialise_series(tenant=tenant, now=now + timedelta(hours=1))
        after_retry = list(series.occurrences.order_by("local_date").values_list("status", flat=True))
        retried_events = emitted("appointment_series.occurrence_conflict")

    assert [occurrence.status for occurrence in occurrences] == ["BOOKED", "CONFLICT", "CONFLICT", "CONFLICT", "BOOKED"]
    assert [occurrence.conflict.get("code") for occurrence in occurrences] == [
        None,
        "double_booking",
        "time_off",
        "closed_day",
        None,
    ]
    assert occurrences[1].conflict["details"][0]["conflicting_appointment_id"] == other.pk
    assert occurrences[2].conflict["details"] == [{"time_off_id": off.pk}]
    assert occurrences[3].conflict["details"] == [{"closed_day_id": closed.pk}]
    assert [event.payload.reason for event in conflict_events] == ["double_booking", "time_off", "closed_day"]
    # The time off is gone, so that visit is booked; the others still clash and are not reported again.
    assert after_retry == ["BOOKED", "CONFLICT", "BOOKED", "CONFLICT", "BOOKED"]
    assert len(retried_events) == 3


def test_edit_all_moves_every_upcoming_visit_in_place_and_keeps_one_cancelled_alone(tenant_a):
    tenant = tenant_a.tenant
    zone = tenant.zone
    start = first_monday(anchor_year(), 4)
    now = local(start, 0, zone)
    with tenant_a.schema():
        series = make_series(tenant, starts_at=local(start, 9, zone), rrule="FREQ=WEEKLY;COUNT=4", now=now)
        before = visits(series)
        services.cancel_appointment(appointment_id=before[1].pk, reason="Customer away that week")

        changed = series_services.update_series(
            tenant=tenant,
            series_id=series.pk,
            version=series.version,
            scope="all",
            changes={"local_start": time(14), "title": "Annual boiler service"},
            now=now,
        )
        after = visits(changed)
        with pytest.raises(StaleVersion):
            series_services.update_series(
                tenant=tenant, series_id=series.pk, version=1, scope="all", changes={"title": "X"}, now=now
            )

    assert [visit.pk for visit in after] == [visit.pk for visit in before]
    assert [(visit.status, visit.starts_at.astimezone(zone).hour) for visit in after] == [
        ("SCHEDULED", 14),
        ("CANCELLED", 9),
        ("SCHEDULED", 14),
        ("SCHEDULED", 14),
    ]
    assert {visit.title for visit in after if visit.is_active} == {"Annual boiler service"}
    assert changed.version == 2


def test_edit_all_with_a_new_rule_cancels_the_days_it_no_longer_gives_and_books_the_new_ones(tenant_a):
    tenant = tenant_a.tenant
    zone = tenant.zone
    start = first_monday(anchor_year(), 5)
    now = local(start, 0, zone)
    with tenant_a.schema():
        series = make_series(tenant, starts_at=local(start, 9, zone), rrule="FREQ=WEEKLY;COUNT=4", now=now)
        weekly = visits(series)

        series_services.update_series(
            tenant=tenant,
            series_id=series.pk,
            version=series.version,
            scope="all",
            changes={"rrule": "FREQ=WEEKLY;INTERVAL=2;COUNT=3"},
            now=now,
        )
        days = list(series.occurrences.order_by("local_date").values_list("local_date", flat=True))
        statuses = {visit.pk: visit.status for visit in Appointment.objects.filter(pk__in=[v.pk for v in weekly])}
        removed = Appointment.objects.get(pk=weekly[1].pk)

    assert days == [start, start + timedelta(weeks=2), start + timedelta(weeks=4)]
    assert [statuses[visit.pk] for visit in weekly] == ["SCHEDULED", "CANCELLED", "SCHEDULED", "CANCELLED"]
    assert removed.cancel_reason == series_services.REMOVED_REASON


def test_edit_this_and_following_splits_the_series_and_keeps_the_count(tenant_a):
    tenant = tenant_a.tenant
    zone = tenant.zone
    start = first_monday(anchor_year(), 6)
    now = local(start, 0, zone)
    split_day = start + timedelta(weeks=2)
    with tenant_a.schema():
        series = make_series(tenant, starts_at=local(start, 9, zone), rrule="FREQ=WEEKLY;COUNT=6", now=now)
        before = visits(series)

        following = series_services.update_series(
            tenant=tenant,
            series_id=series.pk,
            version=series.version,
            scope="following",
            from_date=split_day,
            changes={"local_start": time(11), "duration_minutes": 90},
            now=now,
        )
        series.refresh_from_db()
        old_days = list(series.occurrences.values_list("local_date", flat=True))
        new_visits = visits(following)
        event = emitted("appointment_series.changed")[-1]
        with pytest.raises(ValidationFailed):
            series_services.update_series(
                tenant=tenant,
                series_id=following.pk,
                version=following.version,
                scope="following",
                from_date=split_day + timedelta(days=1),
                changes={"title": "Not a visit day"},
                now=now,
            )

    assert series.status == "ENDED"
    assert series.rrule == f"FREQ=WEEKLY;UNTIL={split_day - timedelta(days=1):%Y%m%d}T235959"
    assert old_days == [start, start + timedelta(weeks=1)]
    assert following.rrule == "FREQ=WEEKLY;COUNT=4"
    assert following.split_from_id == series.pk
    assert [visit.pk for visit in new_visits] == [visit.pk for visit in before[2:]]
    assert {(visit.starts_at.astimezone(zone).hour, visit.ends_at - visit.starts_at) for visit in new_visits} == {
        (11, timedelta(minutes=90))
    }
    assert (event.payload.series_id, event.payload.previous_series_id) == (following.pk, series.pk)


def test_rules_a_series_cannot_hold_are_refused(tenant_a):
    zone = tenant_a.tenant.zone
    start = first_monday(anchor_year(), 7)
    refused = {}
    with tenant_a.schema():
        for rule in (
            "FREQ=HOURLY",
            "FREQ=DAILY;BYHOUR=9,15",
            "FREQ=WEEKLY;UNTIL=20300101T000000Z",
            "FREQ=WEEKLY;X",
            "FREQ=DAILY;INTERVAL=0",
            "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=YEARLY;BYYEARDAY=400",
            "FREQ=WEEKLY;BYDAY=XX",
            "FREQ=WEEKLY;COUNT=many",
            "FREQ=MONTHLY;BYMONTHDAY=1;BYDAY=5MO",
            "FREQ=MONTHLY;BYDAY=6MO",
            "FREQ=DAILY;BYSETPOS=2",
        ):
            with pytest.raises(ValidationFailed) as error:
                make_series(tenant_a.tenant, starts_at=local(start, 9, zone), rrule=rule, now=local(start, 0, zone))
            refused[rule] = error.value.details[0]["field"]
        assert AppointmentSeries.objects.count() == 0

    assert set(refused.values()) == {"rrule"}
    assert len(refused) == 12


def test_every_occurrence_gets_its_own_reminders(tenant_a):
    zone = tenant_a.tenant.zone
    start = first_monday(anchor_year(), 8)
    with tenant_a.schema():
        series = make_series(
            tenant_a.tenant,
            starts_at=local(start, 9, zone),
            rrule="FREQ=WEEKLY;COUNT=3",
            now=local(start - timedelta(days=2), 0, zone),
        )
        ids = [visit.pk for visit in visits(series)]
    OutboxMessage.objects.filter(actor_name=REMINDER_ACTOR).delete()

    deliver_events()

    reminded = Counter(
        OutboxMessage.objects.filter(actor_name=REMINDER_ACTOR).values_list("kwargs__appointment_id", flat=True)
    )
    assert sorted(reminded) == sorted(ids)
    assert set(reminded.values()) == {2}  # the default reminder hours, 24 h and 2 h before


@pytest.mark.concurrency
def test_two_horizon_runs_at_once_book_each_visit_once(committed_tenant, settings):
    settings.APPOINTMENT_SERIES_HORIZON_DAYS = 14
    tenant = committed_tenant.tenant
    zone = tenant.zone
    start = first_monday(anchor_year(), 9)
    now = local(start, 0, zone)
    with committed_tenant.schema():
        series = make_series(tenant, starts_at=local(start, 9, zone), rrule="FREQ=DAILY", now=now)
    later = now + timedelta(days=10)

    written = run_at_once([lambda: series_services.materialise_series(tenant=tenant, now=later)] * 3, tenant=tenant)

    with committed_tenant.schema():
        days = list(SeriesOccurrence.objects.filter(series=series).values_list("local_date", flat=True))
        booked = Appointment.objects.filter(occurrence__series=series).count()
    assert sorted(written) == [0, 0, 10]
    assert len(days) == len(set(days)) == booked == 25


def test_a_monthly_rule_on_the_first_monday_books_first_mondays(tenant_a):
    zone = tenant_a.tenant.zone
    start = first_monday(anchor_year(), 1)
    with tenant_a.schema():
        series = make_series(
            tenant_a.tenant,
            starts_at=local(start, 8, zone),
            rrule="rrule:freq=monthly;byday=1mo;count=3",
            now=local(start, 0, zone),
        )
        days = [visit.starts_at.astimezone(zone).date() for visit in visits(series)]

    assert series.rrule == "FREQ=MONTHLY;BYDAY=1MO;COUNT=3"
    assert days == [first_monday(anchor_year(), month) for month in (1, 2, 3)]
