"""The exclusion constraint, not Python, decides who wins a race for the same time."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction

from tenant_apps.appointments import services
from tenant_apps.appointments.models import Appointment
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory

# The issue asks for at least 10 parallel bookings; 12 real connections race here.
RACERS = 12


def book_an_hour(test_tenant, customer_id: int, starts_at: datetime, *, title: str) -> None:
    """An hour with the tenant's staff member, through the service."""
    services.create_appointment(
        tenant=test_tenant.tenant,
        customer_id=customer_id,
        title=title,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        staff_id=test_tenant.staff.pk,
    )


# No django_db(transaction=True): its flush would truncate the session's tenants.
# `committed_tenant` already commits and cleans up after itself.
@pytest.mark.concurrency
def test_parallel_bookings_of_one_slot_have_exactly_one_winner(committed_tenant):
    tenant = committed_tenant.tenant
    staff_id = committed_tenant.staff.pk
    with committed_tenant.schema():
        customer_id = CustomerFactory().pk
    starts_at = datetime(2027, 6, 7, 13, tzinfo=UTC)

    def book(offset_minutes: int) -> str:
        # Overlapping but not identical times.
        book_an_hour(committed_tenant, customer_id, starts_at + timedelta(minutes=offset_minutes), title="Race")
        return "booked"

    results = run_at_once(
        [lambda offset=offset: book(offset) for offset in range(0, RACERS * 5, 5)],
        expected=services.DoubleBooking,
        tenant=tenant,
    )
    clashes = [result for result in results if isinstance(result, services.DoubleBooking)]
    outcomes = ["clash" if isinstance(result, services.DoubleBooking) else result for result in results]

    assert all(clash.conflicting_appointment_id is not None for clash in clashes)
    assert sorted(outcomes) == ["booked"] + ["clash"] * (RACERS - 1)
    with committed_tenant.schema():
        assert Appointment.objects.filter(staff_id=staff_id).count() == 1


@pytest.mark.concurrency
def test_a_deadlock_between_overlapping_bookings_ends_as_a_double_booking(committed_tenant):
    # Given a transaction holding an uncommitted booking, and another booking overlapping it
    # that waits for that transaction while checking the constraint
    tenant = committed_tenant.tenant
    staff_id = committed_tenant.staff.pk
    with committed_tenant.schema():
        customer_id = CustomerFactory().pk
    day = datetime(2027, 6, 8, tzinfo=UTC)
    first_held = threading.Event()
    outcomes: dict[str, object] = {}

    def book(hour: float) -> None:
        book_an_hour(committed_tenant, customer_id, day + timedelta(hours=hour), title="Deadlock")

    def holder() -> None:
        connection.set_tenant(tenant)
        try:
            with transaction.atomic():
                book(13)
                first_held.set()
                time.sleep(0.3)  # the other booking is waiting for this transaction by now
                # When this transaction books a time overlapping the waiting one's row, each
                # waits for the other: PostgreSQL aborts the one that waited first
                book(14.25)
            outcomes["holder"] = "booked"
        except Exception as error:
            outcomes["holder"] = error
        finally:
            connection.close()

    def waiter() -> None:
        connection.set_tenant(tenant)
        first_held.wait(timeout=10)
        try:
            book(13.5)
            outcomes["waiter"] = "booked"
        except Exception as error:
            outcomes["waiter"] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then the aborted one tries again after the other commits and is told the time is taken
    assert outcomes["holder"] == "booked"
    assert isinstance(outcomes["waiter"], services.DoubleBooking), outcomes["waiter"]
    with committed_tenant.schema():
        assert Appointment.objects.filter(staff_id=staff_id, title="Deadlock").count() == 2
