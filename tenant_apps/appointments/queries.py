"""Reading appointments. Every read of the tenant's appointments goes through here."""

from collections.abc import Iterable
from datetime import datetime

from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import QuerySet

from shared_apps.errors import NotFound
from tenant_apps.appointments.models import Appointment
from tenant_apps.customers.history import HistoryEntry, HistoryWindow


def list_appointments(
    *,
    starts_from: datetime | None = None,
    ends_before: datetime | None = None,
    statuses: Iterable[str] = (),
    customer_id: int | None = None,
    staff_id: int | None = None,
) -> QuerySet[Appointment]:
    """In time order. `starts_from`/`ends_before` select appointments that overlap that window
    (one running across `from` is still on the calendar)."""
    appointments = Appointment.objects.all()
    if starts_from is not None:
        appointments = appointments.filter(ends_at__gt=starts_from)
    if ends_before is not None:
        appointments = appointments.filter(starts_at__lt=ends_before)
    statuses = list(statuses)
    if statuses:
        appointments = appointments.filter(status__in=statuses)
    if customer_id is not None:
        appointments = appointments.filter(customer_id=customer_id)
    if staff_id is not None:
        appointments = appointments.filter(staff_id=staff_id)
    return appointments.order_by("starts_at", "id")


def get_appointment(*, appointment_id: int) -> Appointment:
    appointment = Appointment.objects.filter(pk=appointment_id).first()
    if appointment is None:
        raise NotFound("Appointment not found.")
    return appointment


def get_appointment_for_update(*, appointment_id: int) -> Appointment:
    """Lock the appointment row for the caller's transaction (no key lock: the customer's row
    and other appointments stay writable)."""
    appointment = Appointment.objects.select_for_update(no_key=True, of=("self",)).filter(pk=appointment_id).first()
    if appointment is None:
        raise NotFound("Appointment not found.")
    return appointment


def find_clashing_appointment_id(
    *, staff_id: int, blocked_during: DateTimeTZRange, exclude_id: int | None = None
) -> int | None:
    """The active appointment of `staff_id` whose blocked time overlaps `blocked_during` (what
    the exclusion constraint refused), earliest first."""
    clashing = Appointment.objects.filter(
        staff_id=staff_id, status__in=Appointment.ACTIVE_STATUSES, blocked_during__overlap=blocked_during
    )
    if exclude_id is not None:
        clashing = clashing.exclude(pk=exclude_id)
    return clashing.order_by("starts_at", "id").values_list("id", flat=True).first()


def busy_ranges(*, window: DateTimeTZRange, staff_ids: Iterable[int]) -> list[tuple[int, datetime, datetime]]:
    """(staff_id, blocked from, blocked until) of every active appointment of `staff_ids`
    whose blocked time touches `window`, in one query."""
    rows = Appointment.objects.filter(
        staff_id__in=list(staff_ids), status__in=Appointment.ACTIVE_STATUSES, blocked_during__overlap=window
    ).values_list("staff_id", "blocked_during")
    return [(staff_id, blocked.lower, blocked.upper) for staff_id, blocked in rows if staff_id is not None]


def appointment_history(customer_id: int, window: HistoryWindow) -> list[HistoryEntry]:
    """The customer's appointments as timeline entries, newest start first, in one query."""
    rows = window.rows(Appointment.objects.filter(customer_id=customer_id), time_field="starts_at").values(
        "id", "title", "status", "starts_at", "ends_at", "staff_id", "cancel_reason"
    )
    return [
        HistoryEntry(
            kind="appointment",
            id=row["id"],
            occurred_at=row["starts_at"],
            title=row["title"],
            status=row["status"],
            data={
                "starts_at": row["starts_at"].isoformat(),
                "ends_at": row["ends_at"].isoformat(),
                "staff_id": row["staff_id"],
                "cancel_reason": row["cancel_reason"] or None,
            },
        )
        for row in rows
    ]
