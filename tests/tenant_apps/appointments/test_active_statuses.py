"""Which appointments are active is one rule: the database's double-booking constraint, the
availability search and the booking confirmation all read Appointment.ACTIVE_STATUSES."""

from datetime import UTC, date, datetime

import pytest

from tenant_apps.appointments import services
from tenant_apps.appointments.availability import find_available_slots
from tenant_apps.appointments.models import Appointment
from tenant_apps.notifications import notices as automatic
from tenant_apps.notifications import texts as notifications
from tests.factories import CustomerFactory
from tests.tenant_apps.sms import fixtures

sender = fixtures.sender

STARTS = datetime(2026, 1, 20, 15, 0, tzinfo=UTC)  # 10:00 in New York
ENDS = datetime(2026, 1, 20, 16, 0, tzinfo=UTC)
AFTERNOON_BEFORE = datetime(2026, 1, 15, 20, 0, tzinfo=UTC)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def booked_in(test_tenant, status: str) -> Appointment:
    """An appointment of the staff member at STARTS, moved to `status` (the row, as a
    transition would leave it)."""
    appointment = services.create_appointment(
        tenant=test_tenant.tenant,
        customer_id=CustomerFactory().pk,
        title="Boiler service",
        starts_at=STARTS,
        ends_at=ENDS,
        staff_id=test_tenant.staff.pk,
    )
    Appointment.objects.filter(pk=appointment.pk).update(status=status)
    appointment.refresh_from_db()
    return appointment


def book_the_same_time(test_tenant) -> str:
    try:
        services.create_appointment(
            tenant=test_tenant.tenant,
            customer_id=CustomerFactory().pk,
            title="Same time",
            starts_at=STARTS,
            ends_at=ENDS,
            staff_id=test_tenant.staff.pk,
        )
    except services.DoubleBooking:
        return "clash"
    return "booked"


@pytest.mark.parametrize("status", Appointment.Status.values)
def test_only_an_active_appointment_holds_its_staff_members_time(tenant_a, status):
    active = status in Appointment.ACTIVE_STATUSES
    with tenant_a.schema():
        booked_in(tenant_a, status)
        day = find_available_slots(
            tenant=tenant_a.tenant, day=date(2026, 1, 20), duration_minutes=60, staff_id=tenant_a.staff.pk, now=LONG_AGO
        )
        offered = STARTS in [slot.starts_at for slot in day]
        outcome = book_the_same_time(tenant_a)

    assert (outcome, offered) == ("clash" if active else "booked", not active)


@pytest.mark.parametrize("status", Appointment.Status.values)
def test_a_booking_confirmation_goes_only_to_an_active_appointment(sender, status):
    with sender.schema():
        appointment = booked_in(sender, status)
        decision = automatic.send_notice(
            tenant_id=sender.tenant.pk,
            kind=notifications.BOOKING_CONFIRMATION,
            object_id=appointment.pk,
            send_key=f"test:{appointment.pk}",
            now=AFTERNOON_BEFORE,
        )

    expected = "sent" if status in Appointment.ACTIVE_STATUSES else "skipped"
    assert decision.status == expected
