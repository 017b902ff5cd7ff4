"""The exclusion constraint, not Python, decides who wins a race for the same time."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections

from tenant_apps.appointments import services
from tenant_apps.appointments.models import Appointment
from tests.factories import CustomerFactory

# The issue asks for at least 10 parallel bookings; 12 real connections race here.
RACERS = 12


# No django_db(transaction=True): its flush would truncate the session's tenants.
# `committed_tenant` already commits and cleans up after itself.
@pytest.mark.concurrency
def test_parallel_bookings_of_one_slot_have_exactly_one_winner(committed_tenant):
    tenant = committed_tenant.tenant
    staff_id = committed_tenant.staff.pk
    with committed_tenant.schema():
        customer_id = CustomerFactory().pk
    barrier = threading.Barrier(RACERS)
    starts_at = datetime(2027, 6, 7, 13, tzinfo=UTC)

    def book(offset_minutes: int) -> str:
        # Each thread has its own connection; overlapping but not identical times.
        connection.set_tenant(tenant)
        try:
            barrier.wait(timeout=10)
            start = starts_at + timedelta(minutes=offset_minutes)
            services.create_appointment(
                tenant=tenant,
                customer_id=customer_id,
                title="Race",
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                staff_id=staff_id,
            )
            return "booked"
        except services.DoubleBooking as clash:
            assert clash.conflicting_appointment_id is not None
            return "clash"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        outcomes = list(pool.map(book, range(0, RACERS * 5, 5)))

    assert sorted(outcomes) == ["booked"] + ["clash"] * (RACERS - 1)
    with committed_tenant.schema():
        assert Appointment.objects.filter(staff_id=staff_id).count() == 1
