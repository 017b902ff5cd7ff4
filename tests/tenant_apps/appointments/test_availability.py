"""Slots across DST changes and around booked time (service level, fixed `now`)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tenant_apps.appointments.availability import business_intervals, find_available_slots, wall_clock_instant
from tenant_apps.appointments.services import DoubleBooking, create_appointment
from tests.factories import CustomerFactory

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def hours(*intervals):
    return {day: [list(interval) for interval in intervals] for day in ALL_DAYS}


def starts(slots):
    return [slot.starts_at.isoformat() for slot in slots]


@pytest.fixture
def tenant(tenant_a):
    """tenant_a's row (its zone changed in memory only), open 09:00-17:00 every day."""
    row = tenant_a.tenant
    row.timezone = "America/New_York"
    tenant_a.store_settings(business_hours=hours(("09:00", "17:00")), appointment_buffer_minutes=0)
    with tenant_a.schema():
        yield row
    row.refresh_from_db()


@pytest.fixture
def calendar(tenant_a):
    """Stores tenant A's calendar settings (`calendar(business_hours=...)`): the services read them."""
    return tenant_a.store_settings


def test_gap_wall_time_means_the_end_of_the_gap():
    assert wall_clock_instant(date(2026, 3, 8), time(2, 30), NEW_YORK) == datetime(2026, 3, 8, 7, tzinfo=UTC)


def test_ambiguous_wall_time_is_first_occurrence_or_latest():
    day, wall = date(2026, 11, 1), time(1, 30)

    assert wall_clock_instant(day, wall, NEW_YORK) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert wall_clock_instant(day, wall, NEW_YORK, latest=True) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


def test_spring_forward_day_has_an_hour_less_of_slots(tenant, calendar):
    calendar(business_hours=hours(("00:00", "04:00")))

    slots = find_available_slots(tenant=tenant, day=date(2026, 3, 8), duration_minutes=60, now=LONG_AGO)

    # Three real hours: 01:59 EST is followed by 03:00 EDT.
    assert starts(slots) == [
        "2026-03-08T00:00:00-05:00",
        "2026-03-08T00:15:00-05:00",
        "2026-03-08T00:30:00-05:00",
        "2026-03-08T00:45:00-05:00",
        "2026-03-08T01:00:00-05:00",
        "2026-03-08T01:15:00-05:00",
        "2026-03-08T01:30:00-05:00",
        "2026-03-08T01:45:00-05:00",
        "2026-03-08T03:00:00-04:00",
    ]
    assert slots[4].ends_at.isoformat() == "2026-03-08T03:00:00-04:00"
    assert slots[-1].ends_at.isoformat() == "2026-03-08T04:00:00-04:00"


def test_opening_inside_the_gap_opens_when_the_gap_ends(tenant, calendar):
    calendar(business_hours=hours(("02:30", "04:00")))

    slots = find_available_slots(tenant=tenant, day=date(2026, 3, 8), duration_minutes=60, now=LONG_AGO)

    assert starts(slots) == ["2026-03-08T03:00:00-04:00"]


def test_fall_back_day_repeats_the_wall_clock_hour(tenant, calendar):
    calendar(business_hours=hours(("01:00", "02:00")))

    slots = find_available_slots(tenant=tenant, day=date(2026, 11, 1), duration_minutes=60, now=LONG_AGO)

    # 01:00 EDT to 02:00 EST is two real hours.
    assert starts(slots) == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:15:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:45:00-04:00",
        "2026-11-01T01:00:00-05:00",
    ]


def test_ordinary_hours_on_a_dst_day_keep_their_local_times(tenant):
    slots = find_available_slots(tenant=tenant, day=date(2026, 11, 1), duration_minutes=480, now=LONG_AGO)

    assert [(s.starts_at.isoformat(), s.ends_at.isoformat()) for s in slots] == [
        ("2026-11-01T09:00:00-05:00", "2026-11-01T17:00:00-05:00")
    ]


def test_london_spring_forward():
    intervals = business_intervals(day=date(2026, 3, 29), hours=hours(("00:30", "03:00")), zone=LONDON)

    assert intervals == [(datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 2, tzinfo=UTC))]


def test_closed_day_has_no_slots(tenant, calendar):
    calendar(business_hours={**hours(("09:00", "17:00")), "sun": []})

    assert find_available_slots(tenant=tenant, day=date(2027, 6, 6), duration_minutes=30, now=LONG_AGO) == []


def test_booked_time_and_buffer_are_not_offered(tenant, calendar, tenant_a):
    calendar(business_hours=hours(("09:00", "12:00")), appointment_buffer_minutes=30)
    staff = tenant_a.staff.pk
    create_appointment(
        tenant=tenant,
        customer_id=CustomerFactory().pk,
        title="Booked",
        starts_at=datetime(2027, 6, 7, 10, tzinfo=NEW_YORK),
        ends_at=datetime(2027, 6, 7, 11, tzinfo=NEW_YORK),
        staff_id=staff,
    )

    slots = find_available_slots(tenant=tenant, day=date(2027, 6, 7), duration_minutes=30, staff_id=staff, now=LONG_AGO)

    # A 30-minute slot must end by 09:30 and may start at 11:30 (a 30-minute gap each way).
    assert [s.starts_at.strftime("%H:%M") for s in slots] == ["09:00", "11:30"]


def test_without_staff_a_slot_is_offered_while_anyone_is_free(tenant, calendar, tenant_a):
    calendar(business_hours=hours(("09:00", "10:00")))
    create_appointment(
        tenant=tenant,
        customer_id=CustomerFactory().pk,
        title="Booked",
        starts_at=datetime(2027, 6, 7, 9, tzinfo=NEW_YORK),
        ends_at=datetime(2027, 6, 7, 10, tzinfo=NEW_YORK),
        staff_id=tenant_a.staff.pk,
    )

    slots = find_available_slots(tenant=tenant, day=date(2027, 6, 7), duration_minutes=60, now=LONG_AGO)

    assert [(s.starts_at.strftime("%H:%M"), s.staff_ids) for s in slots] == [("09:00", (tenant_a.owner.pk,))]


def test_past_slots_are_not_offered(tenant):
    now = datetime(2027, 6, 7, 16, 10, tzinfo=NEW_YORK)

    slots = find_available_slots(tenant=tenant, day=date(2027, 6, 7), duration_minutes=30, now=now)

    assert starts(slots) == ["2027-06-07T16:15:00-04:00", "2027-06-07T16:30:00-04:00"]


def book_local(tenant, staff_id: int, local: str):
    """A one-hour appointment at `local` on Tue 20 January 2026 in New York."""
    starts_at = datetime.fromisoformat(f"2026-01-20T{local}:00-05:00")
    return create_appointment(
        tenant=tenant,
        customer_id=CustomerFactory().pk,
        title="Visit",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        staff_id=staff_id,
    )


@pytest.mark.parametrize(
    ("buffer_minutes", "step_before", "first_free"),
    [(0, "10:45", "11:00"), (15, "11:00", "11:15"), (30, "11:15", "11:30"), (45, "11:30", "11:45")],
)
def test_the_first_slot_offered_after_an_appointment_is_the_first_one_booking_accepts(
    tenant, calendar, tenant_a, buffer_minutes, step_before, first_free
):
    """Availability and booking apply the same buffer: the first slot offered after a
    10:00-11:00 appointment can be booked, the step before it cannot."""
    calendar(appointment_buffer_minutes=buffer_minutes)
    staff_id = tenant_a.staff.pk
    book_local(tenant, staff_id, "10:00")
    day = find_available_slots(
        tenant=tenant, day=date(2026, 1, 20), duration_minutes=60, staff_id=staff_id, now=LONG_AGO
    )
    offered_after = [slot.starts_at.strftime("%H:%M") for slot in day if slot.starts_at.hour >= 10]

    with pytest.raises(DoubleBooking):
        book_local(tenant, staff_id, step_before)
    assert offered_after[0] == first_free
    assert book_local(tenant, staff_id, first_free).pk
