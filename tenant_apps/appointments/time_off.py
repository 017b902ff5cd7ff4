"""Staff time off and the business's closed days: time nobody can book.

- Staff add, change and remove their own time off; owners and admins anyone's. Staff see only
  their own (the reason may be private); availability shows everyone's time as simply busy.
- Closed days (a local date or range of dates in the tenant's zone: holidays, one-off
  closures) are managed by owners and admins and seen by every member.
- Neither may be placed over active appointments: the write is refused (409) listing the
  appointments in the way (CLASHES_LISTED at most), which the office moves or cancels first.
  PostgreSQL enforces it, also against bookings racing the write (docs/scheduling.md).
- Every change is optimistic on `version` and emits `time_off.*` / `closed_day.*`.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from shared_apps.accounts.services import MANAGER_ROLES
from shared_apps.errors import Conflict, PermissionDenied, StaleVersion, ValidationFailed
from shared_apps.events.services import emit
from shared_apps.tenants.localtime import wall_clock_instant
from shared_apps.tenants.models import Tenant
from tenant_apps.appointments import queries
from tenant_apps.appointments.models import ClosedDay, HeldTime, TimeOff
from tenant_apps.appointments.services import violated_exclusion
from tenant_apps.appointments.staff import require_staff

# The longest single time off or closure; longer absences are several rows.
MAX_DAYS = 366
TIME_OFF_GUARD = "time_off_free_of_appointments"
CLOSED_DAY_GUARD = "closed_day_free_of_appointments"


class AppointmentsInTheWay(Conflict):
    """Active appointments overlap the time off or closure being written (409); the details
    list them."""

    code = "appointments_in_period"

    def __init__(self, *, appointment_ids: list[int]):
        super().__init__(
            "Appointments are booked in that period; move or cancel them first.",
            details=[{"conflicting_appointment_id": appointment_id} for appointment_id in appointment_ids],
        )
        self.appointment_ids = appointment_ids


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed("Invalid period.", details=[{"field": field, "message": message}])


def own_staff_id(*, actor_user_id: int, actor_role: str) -> int | None:
    """The staff member whose time off the actor is limited to (None: managers see everyone's)."""
    return None if actor_role in MANAGER_ROLES else actor_user_id


def _check_period(*, starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise _invalid("starts_at", "Times need a UTC offset.")
    if ends_at <= starts_at:
        raise _invalid("ends_at", "Must be after starts_at.")
    if ends_at - starts_at > timedelta(days=MAX_DAYS):
        raise _invalid("ends_at", f"A period lasts at most {MAX_DAYS} days.")


def _save_guarded(row: HeldTime, *, staff_id: int | None, guard: str, update_fields: list[str] | None) -> None:
    """Save in a savepoint; the guard trigger's refusal becomes AppointmentsInTheWay listing the
    appointments (read after the savepoint rolled back, committed rivals included)."""
    try:
        with transaction.atomic():
            row.save(update_fields=update_fields)
    except IntegrityError as error:
        if violated_exclusion(error) != guard:
            raise
        ids = queries.clashing_appointment_ids(staff_id=staff_id, starts_at=row.starts_at, ends_at=row.ends_at)
        raise AppointmentsInTheWay(appointment_ids=ids) from None


def _time_off_payload(time_off: TimeOff) -> dict[str, Any]:
    return {
        "time_off_id": time_off.pk,
        "staff_id": time_off.staff_id,
        "starts_at": time_off.starts_at,
        "ends_at": time_off.ends_at,
    }


def create_time_off(
    *,
    tenant: Tenant,
    actor_user_id: int,
    actor_role: str,
    starts_at: datetime,
    ends_at: datetime,
    staff_id: int | None = None,
    reason: str = "",
) -> TimeOff:
    """Add time off for `staff_id` (default: the actor). Staff only for themselves."""
    staff_id = actor_user_id if staff_id is None else staff_id
    own = own_staff_id(actor_user_id=actor_user_id, actor_role=actor_role)
    if own is not None and staff_id != own:
        raise PermissionDenied("Staff may only add their own time off.", code="role_forbidden")
    require_staff(tenant=tenant, staff_id=staff_id)
    _check_period(starts_at=starts_at, ends_at=ends_at)
    time_off = TimeOff(
        staff_id=staff_id,
        starts_at=starts_at.astimezone(UTC),
        ends_at=ends_at.astimezone(UTC),
        reason=reason.strip(),
        created_by_id=actor_user_id,
    )
    with transaction.atomic():
        _save_guarded(time_off, staff_id=staff_id, guard=TIME_OFF_GUARD, update_fields=None)
        emit("time_off.created", **_time_off_payload(time_off))
    return time_off


def update_time_off(
    *, tenant: Tenant, actor_user_id: int, actor_role: str, time_off_id: int, version: int, changes: dict[str, Any]
) -> TimeOff:
    """Change the period or the reason (optimistic on `version`)."""
    unknown = set(changes) - {"starts_at", "ends_at", "reason"}
    if unknown:
        raise _invalid(sorted(unknown)[0], "Cannot be changed.")
    with transaction.atomic():
        time_off = queries.get_time_off(
            time_off_id=time_off_id,
            staff_id=own_staff_id(actor_user_id=actor_user_id, actor_role=actor_role),
            for_update=True,
        )
        if version != time_off.version:
            raise StaleVersion(current_version=time_off.version)
        for field, value in changes.items():
            setattr(time_off, field, value.strip() if field == "reason" else value)
        _check_period(starts_at=time_off.starts_at, ends_at=time_off.ends_at)
        time_off.starts_at, time_off.ends_at = time_off.starts_at.astimezone(UTC), time_off.ends_at.astimezone(UTC)
        time_off.version += 1
        _save_guarded(
            time_off,
            staff_id=time_off.staff_id,
            guard=TIME_OFF_GUARD,
            update_fields=[*changes, "version", "updated_at"],
        )
        emit("time_off.updated", **_time_off_payload(time_off))
    return time_off


def delete_time_off(*, actor_user_id: int, actor_role: str, time_off_id: int) -> None:
    """Remove time off (the time becomes bookable again)."""
    with transaction.atomic():
        time_off = queries.get_time_off(
            time_off_id=time_off_id,
            staff_id=own_staff_id(actor_user_id=actor_user_id, actor_role=actor_role),
            for_update=True,
        )
        payload = _time_off_payload(time_off)
        time_off.delete()
        emit("time_off.deleted", **payload)


def closed_day_bounds(*, tenant: Tenant, starts_on: date, ends_on: date) -> tuple[datetime, datetime]:
    """The instants the local days `starts_on`..`ends_on` begin and end in the tenant's zone."""
    return (
        wall_clock_instant(starts_on, time(0), tenant.zone),
        wall_clock_instant(ends_on + timedelta(days=1), time(0), tenant.zone),
    )


def _check_days(*, starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise _invalid("ends_on", "Must be on or after starts_on.")
    if (ends_on - starts_on).days >= MAX_DAYS:
        raise _invalid("ends_on", f"A closure lasts at most {MAX_DAYS} days.")


def _closed_day_payload(closed_day: ClosedDay) -> dict[str, Any]:
    return {"closed_day_id": closed_day.pk, "starts_on": closed_day.starts_on, "ends_on": closed_day.ends_on}


def create_closed_day(
    *, tenant: Tenant, actor_user_id: int, starts_on: date, ends_on: date | None = None, reason: str = ""
) -> ClosedDay:
    """Close the business on the local days `starts_on`..`ends_on` (default: that one day)."""
    ends_on = ends_on or starts_on
    _check_days(starts_on=starts_on, ends_on=ends_on)
    starts_at, ends_at = closed_day_bounds(tenant=tenant, starts_on=starts_on, ends_on=ends_on)
    closed_day = ClosedDay(
        starts_on=starts_on,
        ends_on=ends_on,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason.strip(),
        created_by_id=actor_user_id,
    )
    with transaction.atomic():
        _save_guarded(closed_day, staff_id=None, guard=CLOSED_DAY_GUARD, update_fields=None)
        emit("closed_day.created", **_closed_day_payload(closed_day))
    return closed_day


def update_closed_day(*, tenant: Tenant, closed_day_id: int, version: int, changes: dict[str, Any]) -> ClosedDay:
    """Change the days or the reason (optimistic on `version`); the bounds follow the days in
    the tenant's zone of now."""
    unknown = set(changes) - {"starts_on", "ends_on", "reason"}
    if unknown:
        raise _invalid(sorted(unknown)[0], "Cannot be changed.")
    with transaction.atomic():
        closed_day = queries.get_closed_day(closed_day_id=closed_day_id, for_update=True)
        if version != closed_day.version:
            raise StaleVersion(current_version=closed_day.version)
        for field, value in changes.items():
            setattr(closed_day, field, value.strip() if field == "reason" else value)
        _check_days(starts_on=closed_day.starts_on, ends_on=closed_day.ends_on)
        closed_day.starts_at, closed_day.ends_at = closed_day_bounds(
            tenant=tenant, starts_on=closed_day.starts_on, ends_on=closed_day.ends_on
        )
        closed_day.version += 1
        _save_guarded(
            closed_day,
            staff_id=None,
            guard=CLOSED_DAY_GUARD,
            update_fields=[*changes, "starts_at", "ends_at", "version", "updated_at"],
        )
        emit("closed_day.updated", **_closed_day_payload(closed_day))
    return closed_day


def delete_closed_day(*, closed_day_id: int) -> None:
    """Reopen those days."""
    with transaction.atomic():
        closed_day = queries.get_closed_day(closed_day_id=closed_day_id, for_update=True)
        payload = _closed_day_payload(closed_day)
        closed_day.delete()
        emit("closed_day.deleted", **payload)
