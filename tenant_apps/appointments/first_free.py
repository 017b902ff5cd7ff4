"""Booking a slot with whichever staff member is free, for bookers that do not pick one (the
phone receptionist, online booking). The database decides races: when a concurrent booking
or new time off takes the member tried, the next free one is tried, until nobody is left."""

from collections.abc import Callable
from datetime import UTC, datetime

from shared_apps.tenants.models import Tenant
from tenant_apps.appointments.availability import find_available_slots
from tenant_apps.appointments.models import Appointment, AppointmentSettings
from tenant_apps.appointments.services import DoubleBooking, Unavailable


def free_staff(
    *, tenant: Tenant, starts_at: datetime, duration_minutes: int, now: datetime, calendar: AppointmentSettings
) -> tuple[int, ...]:
    """Who is free for exactly this slot now (empty when nobody is, or it is not a slot the
    availability rules offer: outside hours, in the past, off the 15-minute grid)."""
    day = tenant.local_date(starts_at)
    wanted = starts_at.astimezone(UTC)
    for slot in find_available_slots(
        tenant=tenant, day=day, duration_minutes=duration_minutes, now=now, calendar=calendar
    ):
        # In UTC: Python never finds a wall time of the repeated hour (fold=1) equal to an
        # instant of another zone, though it is the same instant.
        if slot.starts_at.astimezone(UTC) == wanted:
            return slot.staff_ids
    return ()


def book_with_first_free_staff(
    *,
    tenant: Tenant,
    starts_at: datetime,
    duration_minutes: int,
    now: datetime,
    calendar: AppointmentSettings,
    book: Callable[[int], Appointment],
) -> Appointment | None:
    """`book(staff_id)` with the first free staff member, trying the next one when a
    concurrent booking or new time off took them; None when nobody is free."""
    tried: set[int] = set()
    while True:
        free = [
            staff
            for staff in free_staff(
                tenant=tenant, starts_at=starts_at, duration_minutes=duration_minutes, now=now, calendar=calendar
            )
            if staff not in tried
        ]
        if not free:
            return None
        try:
            return book(free[0])
        except (DoubleBooking, Unavailable):
            tried.add(free[0])
