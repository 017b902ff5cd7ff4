"""A time off booked against from every channel at once (REST and the receptionist's tool
calls), on real parallel connections with committed rows: nothing ends up inside it."""

from datetime import timedelta

import pytest
from django.db import connection

from shared_apps.tenants import services as tenant_services
from tenant_apps.appointments import services
from tenant_apps.appointments.models import Appointment, TimeOff
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory
from tests.tenant_apps.voice.conftest import local, next_business_day
from tests.tenant_apps.voice.payloads import post, results, tool_calls

PHONE = "pn-time-off-race"
ROUNDS = 3


@pytest.fixture
def voice_tenant(committed_tenant):
    connection.set_schema_to_public()
    tenant_services.update_tenant_settings(
        tenant_id=committed_tenant.tenant.pk, changes={"vapi_phone_number_id": f"{PHONE}-{committed_tenant.slug}"}
    )
    return committed_tenant


def keep_staff_busy(test_tenant, day) -> None:
    """The staff member is booked all day, so the receptionist can only book the owner."""
    zone = test_tenant.tenant.zone
    with test_tenant.schema():
        services.create_appointment(
            tenant=test_tenant.tenant,
            customer_id=CustomerFactory().pk,
            title="All day",
            starts_at=local(day, 9, zone),
            ends_at=local(day, 17, zone),
            staff_id=test_tenant.staff.pk,
        )


def rest_booking(test_tenant, day, hour: int):
    zone = test_tenant.tenant.zone
    with test_tenant.schema():
        customer_id = CustomerFactory().pk
    body = {
        "customer_id": customer_id,
        "staff_id": test_tenant.owner.pk,
        "title": "Booked online",
        "starts_at": local(day, hour, zone).isoformat(),
        "ends_at": local(day, hour + 1, zone).isoformat(),
    }
    return lambda: test_tenant.api().post("/appointments", body).status_code


def phone_booking(test_tenant, day, hour: int, tool_id: str):
    body = tool_calls(
        (tool_id, "book_appointment", {"starts_at": f"{day}T{hour:02d}:00", "duration_minutes": 60}),
        phone_number_id=f"{PHONE}-{test_tenant.slug}",
        caller=f"+1202555{int(tool_id[-2:]) + 100:04d}",
        call_id=f"call-{tool_id}",
    )
    return lambda: results(post(body))[tool_id]["booked"]


def time_off_request(test_tenant, day):
    zone = test_tenant.tenant.zone
    body = {
        "staff_id": test_tenant.owner.pk,
        "starts_at": local(day, 9, zone).isoformat(),
        "ends_at": local(day, 17, zone).isoformat(),
        "reason": "Training",
    }
    return lambda: test_tenant.api().post("/time-off", body).status_code


def owner_bookings_inside_time_off(test_tenant, day) -> int:
    with test_tenant.schema():
        periods = list(TimeOff.objects.filter(staff_id=test_tenant.owner.pk).values_list("starts_at", "ends_at"))
        return sum(
            Appointment.objects.filter(
                staff_id=test_tenant.owner.pk,
                status__in=Appointment.ACTIVE_STATUSES,
                starts_at__lt=until,
                ends_at__gt=since,
            ).count()
            for since, until in periods
        )


@pytest.mark.concurrency
def test_an_existing_time_off_booked_from_every_channel_at_once_gets_no_booking(voice_tenant):
    day = next_business_day(voice_tenant.tenant.zone)
    keep_staff_busy(voice_tenant, day)
    assert time_off_request(voice_tenant, day)() == 201

    outcomes = run_at_once(
        [
            rest_booking(voice_tenant, day, 10),
            rest_booking(voice_tenant, day, 13),
            phone_booking(voice_tenant, day, 10, "to-11"),
            phone_booking(voice_tenant, day, 14, "to-12"),
        ]
    )

    assert outcomes == [409, 409, False, False]
    assert owner_bookings_inside_time_off(voice_tenant, day) == 0


@pytest.mark.concurrency
def test_time_off_written_while_every_channel_books_it_never_shares_its_time(voice_tenant):
    """Whoever wins, the time off and a booking inside it never both stand: either the time off
    is refused (409, a booking came first) or every booking inside it is."""
    first_day = next_business_day(voice_tenant.tenant.zone)
    for round_number in range(ROUNDS):
        day = first_day + timedelta(weeks=round_number)
        keep_staff_busy(voice_tenant, day)

        time_off_status, *bookings = run_at_once(
            [
                time_off_request(voice_tenant, day),
                rest_booking(voice_tenant, day, 10),
                phone_booking(voice_tenant, day, 14, f"tr-{round_number}{round_number}"),
            ]
        )

        booked = [outcome for outcome in bookings if outcome in (201, True)]
        assert time_off_status in (201, 409)
        assert (time_off_status == 201) == (booked == [])
        assert owner_bookings_inside_time_off(voice_tenant, day) == 0
