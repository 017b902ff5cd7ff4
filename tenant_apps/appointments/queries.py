"""Reading appointments. Every read of the tenant's appointments goes through here."""

from collections.abc import Iterable
from datetime import date, datetime

from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import QuerySet

from shared_apps.errors import NotFound
from tenant_apps.appointments.models import Appointment, AppointmentSeries, ClosedDay, SeriesOccurrence, TimeOff
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


def _overlapping(rows: QuerySet, *, starts_at: datetime, ends_at: datetime) -> QuerySet:
    return rows.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)


def find_time_off_id(*, staff_id: int | None, starts_at: datetime, ends_at: datetime) -> int | None:
    """The earliest time off of `staff_id` overlapping `[starts_at, ends_at)` (what the guard
    trigger refused); None for no one."""
    if staff_id is None:
        return None
    rows = _overlapping(TimeOff.objects.filter(staff_id=staff_id), starts_at=starts_at, ends_at=ends_at)
    return rows.order_by("starts_at", "id").values_list("id", flat=True).first()


def find_closed_day_id(*, staff_id: int | None, starts_at: datetime, ends_at: datetime) -> int | None:
    """The earliest closed day overlapping `[starts_at, ends_at)` (`staff_id` is not needed:
    a closed day holds everyone's time; it is taken so both finders are called alike)."""
    rows = _overlapping(ClosedDay.objects.all(), starts_at=starts_at, ends_at=ends_at)
    return rows.order_by("starts_at", "id").values_list("id", flat=True).first()


# How many clashing appointments a refused time off or closed day lists.
CLASHES_LISTED = 50


def clashing_appointment_ids(*, staff_id: int | None, starts_at: datetime, ends_at: datetime) -> list[int]:
    """Active appointments overlapping `[starts_at, ends_at)`: of `staff_id`, or of anyone
    when it is None (a closed day), earliest first, at most CLASHES_LISTED."""
    rows = Appointment.objects.filter(status__in=Appointment.ACTIVE_STATUSES)
    if staff_id is not None:
        rows = rows.filter(staff_id=staff_id)
    rows = _overlapping(rows, starts_at=starts_at, ends_at=ends_at).order_by("starts_at", "id")
    return list(rows.values_list("id", flat=True)[:CLASHES_LISTED])


def unavailable_ranges(
    *, window: DateTimeTZRange, staff_ids: Iterable[int]
) -> tuple[list[tuple[int, datetime, datetime]], list[tuple[datetime, datetime]]]:
    """Within `window`: (staff_id, from, until) of the time off of `staff_ids`, and (from,
    until) of the closed days, in two queries."""
    time_off = _overlapping(
        TimeOff.objects.filter(staff_id__in=list(staff_ids)), starts_at=window.lower, ends_at=window.upper
    ).values_list("staff_id", "starts_at", "ends_at")
    closed = _overlapping(ClosedDay.objects.all(), starts_at=window.lower, ends_at=window.upper).values_list(
        "starts_at", "ends_at"
    )
    return list(time_off), list(closed)


def list_time_off(
    *, staff_id: int | None = None, starts_from: datetime | None = None, ends_before: datetime | None = None
) -> QuerySet[TimeOff]:
    """In time order; `starts_from`/`ends_before` select periods overlapping that window."""
    rows = TimeOff.objects.all()
    if staff_id is not None:
        rows = rows.filter(staff_id=staff_id)
    if starts_from is not None:
        rows = rows.filter(ends_at__gt=starts_from)
    if ends_before is not None:
        rows = rows.filter(starts_at__lt=ends_before)
    return rows.order_by("starts_at", "id")


def get_time_off(*, time_off_id: int, staff_id: int | None = None, for_update: bool = False) -> TimeOff:
    """One time off; with `staff_id` only if it is that staff member's (else NotFound)."""
    rows = TimeOff.objects.select_for_update() if for_update else TimeOff.objects.all()
    if staff_id is not None:
        rows = rows.filter(staff_id=staff_id)
    time_off = rows.filter(pk=time_off_id).first()
    if time_off is None:
        raise NotFound("Time off not found.")
    return time_off


def list_closed_days(*, starts_from: date | None = None, ends_before: date | None = None) -> QuerySet[ClosedDay]:
    """In date order; `starts_from`/`ends_before` (local days) select closures touching them."""
    rows = ClosedDay.objects.all()
    if starts_from is not None:
        rows = rows.filter(ends_on__gte=starts_from)
    if ends_before is not None:
        rows = rows.filter(starts_on__lte=ends_before)
    return rows.order_by("starts_on", "id")


def get_closed_day(*, closed_day_id: int, for_update: bool = False) -> ClosedDay:
    rows = ClosedDay.objects.select_for_update() if for_update else ClosedDay.objects.all()
    closed_day = rows.filter(pk=closed_day_id).first()
    if closed_day is None:
        raise NotFound("Closed day not found.")
    return closed_day


def list_series(
    *, customer_id: int | None = None, staff_id: int | None = None, status: str | None = None
) -> QuerySet[AppointmentSeries]:
    rows = AppointmentSeries.objects.all()
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    if staff_id is not None:
        rows = rows.filter(staff_id=staff_id)
    if status is not None:
        rows = rows.filter(status=status)
    return rows.order_by("id")


def get_series(*, series_id: int) -> AppointmentSeries:
    series = AppointmentSeries.objects.filter(pk=series_id).first()
    if series is None:
        raise NotFound("Series not found.")
    return series


def list_occurrences(*, series_id: int, status: str | None = None) -> QuerySet[SeriesOccurrence]:
    """A series' occurrences by day, with their appointments (NotFound for an unknown series)."""
    get_series(series_id=series_id)
    rows = SeriesOccurrence.objects.filter(series_id=series_id).select_related("appointment")
    if status is not None:
        rows = rows.filter(status=status)
    return rows.order_by("local_date", "id")


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
