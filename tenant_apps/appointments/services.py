"""The rules for appointments.

- No two active appointments (SCHEDULED, CONFIRMED, IN_PROGRESS) of one staff member overlap,
  buffers included. PostgreSQL enforces it (exclusion constraint on staff_id and
  `blocked_during`), so concurrent bookings cannot both win; the loser gets DoubleBooking
  naming the appointment it clashed with.
- The buffer (tenant setting `appointment_buffer_minutes`) is the minimum gap between two
  appointments of one staff member. Each appointment blocks half of it before and half after,
  so back-to-back appointments 15 minutes apart fit a 15-minute buffer, and with no buffer
  the half-open ranges let one appointment start the instant another ends. The buffer in
  force when an appointment is booked or rescheduled is kept with it.
- A staff member's time off and the business's closed days hold time too: an active
  appointment overlapping one is refused by PostgreSQL (triggers, see migration
  0004_time_off_guard_triggers and docs/scheduling.md) with Unavailable naming it.
- Status changes follow TRANSITIONS and nothing else. IN_PROGRESS -> NO_SHOW is not allowed:
  once the visit has started the customer evidently showed up. CANCELLED needs a reason.
- Only active appointments may be rescheduled (times, staff, customer); title and notes may
  be corrected at any time. Every change is optimistic on `version`.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from psycopg import errors as pg_errors

from shared_apps.errors import Conflict, InvalidTransition, NotFound, StaleVersion, ValidationFailed
from shared_apps.events.services import emit
from shared_apps.tenants.localtime import require_within_calendar
from shared_apps.tenants.models import Tenant
from tenant_apps.appointments import queries
from tenant_apps.appointments.models import Appointment, AppointmentSettings, blocked_range
from tenant_apps.appointments.staff import require_staff
from tenant_apps.customers.models import Customer
from tenant_apps.customers.services import require_customers_property

Status = Appointment.Status

# The one state machine: status -> the statuses it may move to.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.SCHEDULED: (Status.CONFIRMED, Status.NO_SHOW, Status.CANCELLED),
    Status.CONFIRMED: (Status.IN_PROGRESS, Status.NO_SHOW, Status.CANCELLED),
    Status.IN_PROGRESS: (Status.COMPLETED, Status.CANCELLED),
    Status.COMPLETED: (),
    Status.NO_SHOW: (),
    Status.CANCELLED: (),
}

DEFAULT_DELETE_REASON = "Cancelled via API"
NO_DOUBLE_BOOKING = "appointment_no_double_booking"
TIME_OFF, CLOSED_DAY = "time_off", "closed_day"
# The guard triggers' refusals of an appointment, by the constraint name they raise with.
UNAVAILABLE = {"appointment_not_in_time_off": TIME_OFF, "appointment_not_on_closed_day": CLOSED_DAY}
RESCHEDULE_FIELDS = ("starts_at", "ends_at", "staff_id", "customer_id")


class DoubleBooking(Conflict):
    """The staff member already has an active appointment (with buffers) at that time (409)."""

    code = "double_booking"

    def __init__(self, *, conflicting_appointment_id: int | None, staff_id: int):
        super().__init__(
            "The staff member already has an appointment at that time.",
            details=[{"conflicting_appointment_id": conflicting_appointment_id, "staff_id": staff_id}],
        )
        self.conflicting_appointment_id = conflicting_appointment_id


class Unavailable(Conflict):
    """The staff member is off (time off) or the business is closed (closed day) at that
    time (409); `code` says which, the details name the blocking row."""

    def __init__(self, *, code: str, blocking_id: int | None):
        closed = code == CLOSED_DAY
        super().__init__(
            "The business is closed at that time." if closed else "The staff member is off at that time.",
            code=code,
            details=[{"closed_day_id" if closed else "time_off_id": blocking_id}],
        )
        self.blocking_id = blocking_id


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed("Invalid appointment.", details=[{"field": field, "message": message}])


def _check_times(*, calendar: AppointmentSettings, starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise _invalid("starts_at", "Times need a UTC offset.")
    require_within_calendar(starts_at, field="starts_at")
    require_within_calendar(ends_at, field="ends_at")
    if ends_at <= starts_at:
        raise _invalid("ends_at", "Must be after starts_at.")
    if ends_at - starts_at > timedelta(minutes=calendar.max_appointment_minutes):
        raise _invalid("ends_at", f"An appointment lasts at most {calendar.max_appointment_minutes} minutes.")


def _check_staff(*, tenant: Tenant, staff_id: int | None) -> None:
    if staff_id is not None:
        require_staff(tenant=tenant, staff_id=staff_id)


def _check_customer(*, customer_id: int) -> None:
    archived_at = Customer.objects.filter(pk=customer_id).values_list("archived_at", flat=True)
    if not archived_at:
        raise NotFound("Customer not found.", details=[{"field": "customer_id"}])
    if archived_at[0] is not None:
        raise _invalid("customer_id", "The customer is archived.")


def check_booking_parties(*, tenant: Tenant, customer_id: int, staff_id: int | None) -> None:
    """NotFound or ValidationFailed when the customer (missing, archived) or the staff member
    (not a member) cannot be booked."""
    _check_customer(customer_id=customer_id)
    _check_staff(tenant=tenant, staff_id=staff_id)


def violated_exclusion(error: IntegrityError) -> str | None:
    """The constraint an exclusion violation names (the double-booking constraint's or a guard
    trigger's), None for any other integrity error."""
    cause = error.__cause__
    return cause.diag.constraint_name if isinstance(cause, pg_errors.ExclusionViolation) else None


# Two transactions writing overlapping rows can each wait for the other while checking the
# exclusion constraint; PostgreSQL then aborts one of them (deadlock detected).
DEADLOCK_ATTEMPTS = 3


def _save_in_savepoint(appointment: Appointment, *, update_fields: list[str] | None) -> None:
    """The deadlock's victim rolls back only its savepoint (its row is gone, so the other
    goes on) and writes again: that waits for the other and gets the plain answer, an
    exclusion violation if the other committed, the time if it rolled back."""
    for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                appointment.save(update_fields=update_fields)
            return
        except OperationalError as error:
            if not isinstance(error.__cause__, pg_errors.DeadlockDetected) or attempt == DEADLOCK_ATTEMPTS:
                raise


def _save(appointment: Appointment, *, update_fields: list[str] | None = None) -> None:
    """Save inside a savepoint; a refused double booking becomes DoubleBooking naming the
    clash (looked up after the savepoint rolled back, when the row that won is visible), a
    time off or closed day in the way Unavailable naming it."""
    try:
        _save_in_savepoint(appointment, update_fields=update_fields)
    except IntegrityError as error:
        constraint = violated_exclusion(error)
        if constraint in UNAVAILABLE:
            code = UNAVAILABLE[constraint]
            find = queries.find_closed_day_id if code == CLOSED_DAY else queries.find_time_off_id
            blocking_id = find(
                staff_id=appointment.staff_id, starts_at=appointment.starts_at, ends_at=appointment.ends_at
            )
            raise Unavailable(code=code, blocking_id=blocking_id) from None
        if constraint != NO_DOUBLE_BOOKING or appointment.staff_id is None:
            raise
        clashing_id = queries.find_clashing_appointment_id(
            staff_id=appointment.staff_id, blocked_during=appointment.blocked_during, exclude_id=appointment.pk
        )
        raise DoubleBooking(conflicting_appointment_id=clashing_id, staff_id=appointment.staff_id) from None


def create_appointment(
    *,
    tenant: Tenant,
    customer_id: int,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    staff_id: int | None = None,
    notes: str = "",
    property_id: int | None = None,
    now: datetime | None = None,
    calendar: AppointmentSettings | None = None,
) -> Appointment:
    """Book a SCHEDULED appointment, at `property_id` (one of the customer's properties) when
    given. Raises DoubleBooking when the staff member is taken. `now` (default: the clock)
    decides which reminders are still ahead. `calendar`: the settings, when the caller books
    many at once and has read them already."""
    title = title.strip()
    if not title:
        raise _invalid("title", "Must not be blank.")
    calendar = calendar or AppointmentSettings.load()
    _check_times(calendar=calendar, starts_at=starts_at, ends_at=ends_at)
    starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    _check_staff(tenant=tenant, staff_id=staff_id)
    with transaction.atomic():
        _check_customer(customer_id=customer_id)
        require_customers_property(customer_id=customer_id, property_id=property_id)
        appointment = Appointment(
            customer_id=customer_id,
            service_property_id=property_id,
            staff_id=staff_id,
            title=title,
            starts_at=starts_at,
            ends_at=ends_at,
            blocked_during=blocked_range(
                starts_at=starts_at, ends_at=ends_at, buffer_minutes=calendar.appointment_buffer_minutes
            ),
            notes=notes.strip(),
        )
        _save(appointment)
        emit("appointment.booked", now=now, **_event_payload(appointment))
    return appointment


def _event_payload(appointment: Appointment) -> dict[str, Any]:
    return {
        "appointment_id": appointment.pk,
        "customer_id": appointment.customer_id,
        "status": appointment.status,
        "starts_at": appointment.starts_at,
        "ends_at": appointment.ends_at,
    }


def update_appointment(
    *,
    tenant: Tenant,
    appointment_id: int,
    version: int,
    changes: dict[str, Any],
    now: datetime | None = None,
    calendar: AppointmentSettings | None = None,
) -> Appointment:
    """Edit or reschedule. `changes` may hold title, notes, starts_at, ends_at, staff_id (None
    unassigns), customer_id and property_id (None: no property; it must be the customer's).
    Raises StaleVersion, Conflict (not active) or DoubleBooking."""
    unknown = set(changes) - {"title", "notes", "property_id", *RESCHEDULE_FIELDS}
    if unknown:
        raise _invalid(sorted(unknown)[0], "Cannot be changed.")
    for field, value in changes.items():
        if value is None and field not in ("staff_id", "property_id"):
            raise _invalid(field, "Must not be null.")
    if "property_id" in changes:
        changes = {**changes, "service_property_id": changes["property_id"]}
        del changes["property_id"]
    with transaction.atomic():
        appointment = queries.get_appointment_for_update(appointment_id=appointment_id)
        if version != appointment.version:
            raise StaleVersion(current_version=appointment.version)
        changed = {field: value for field, value in changes.items() if getattr(appointment, field) != value}
        if not changed:
            return appointment
        rescheduling = set(changed) & set(RESCHEDULE_FIELDS)
        if rescheduling and not appointment.is_active:
            raise Conflict(
                f"A {appointment.status} appointment cannot be rescheduled.",
                code="appointment_not_active",
                details=[{"status": appointment.status}],
            )
        if "title" in changed:
            changed["title"] = changed["title"].strip()
            if not changed["title"]:
                raise _invalid("title", "Must not be blank.")
        if "notes" in changed:
            changed["notes"] = changed["notes"].strip()
        previous_starts_at, previous_ends_at = appointment.starts_at, appointment.ends_at
        for field, value in changed.items():
            setattr(appointment, field, value)
        if {"customer_id", "service_property_id"} & set(changed):
            require_customers_property(customer_id=appointment.customer_id, property_id=appointment.service_property_id)
        update_fields = [*changed, "version", "updated_at"]
        if rescheduling:
            calendar = calendar or AppointmentSettings.load()
            _check_times(calendar=calendar, starts_at=appointment.starts_at, ends_at=appointment.ends_at)
            appointment.starts_at = appointment.starts_at.astimezone(UTC)
            appointment.ends_at = appointment.ends_at.astimezone(UTC)
            if "staff_id" in changed:
                _check_staff(tenant=tenant, staff_id=appointment.staff_id)
            if "customer_id" in changed:
                _check_customer(customer_id=appointment.customer_id)
            appointment.blocked_during = blocked_range(
                starts_at=appointment.starts_at,
                ends_at=appointment.ends_at,
                buffer_minutes=calendar.appointment_buffer_minutes,
            )
            update_fields.append("blocked_during")
        appointment.version += 1
        _save(appointment, update_fields=update_fields)
        if {"starts_at", "ends_at"} & set(changed):
            emit(
                "appointment.rescheduled",
                now=now,
                previous_starts_at=previous_starts_at,
                previous_ends_at=previous_ends_at,
                **_event_payload(appointment),
            )
    return appointment


def allowed_transitions(status: str) -> list[str]:
    return [str(next_status) for next_status in TRANSITIONS[status]]


def transition_appointment(
    *, appointment_id: int, status: str, reason: str | None = None, version: int | None = None
) -> Appointment:
    """Move the appointment to `status` if TRANSITIONS allows it (else InvalidTransition with
    the allowed next states). CANCELLED needs a non-blank `reason`."""
    if status not in TRANSITIONS:
        raise _invalid("status", f"One of {', '.join(TRANSITIONS)}.")
    reason = (reason or "").strip()
    if status == Status.CANCELLED and not reason:
        raise _invalid("reason", "A reason is required to cancel.")
    with transaction.atomic():
        appointment = queries.get_appointment_for_update(appointment_id=appointment_id)
        if version is not None and version != appointment.version:
            raise StaleVersion(current_version=appointment.version)
        if status not in TRANSITIONS[appointment.status]:
            raise InvalidTransition(
                current=appointment.status, requested=status, allowed=allowed_transitions(appointment.status)
            )
        previous_status = appointment.status
        appointment.status = status
        update_fields = ["status", "version", "updated_at"]
        if status == Status.CANCELLED:
            appointment.cancel_reason = reason
            update_fields.append("cancel_reason")
        appointment.version += 1
        # Leaving the active states only ever frees time, so this save cannot double-book.
        appointment.save(update_fields=update_fields)
        emit(
            "appointment.cancelled" if status == Status.CANCELLED else "appointment.status_changed",
            previous_status=previous_status,
            **_event_payload(appointment),
        )
    return appointment


def cancel_appointment(*, appointment_id: int, reason: str | None = None) -> Appointment:
    """DELETE: cancel with `reason` (default "Cancelled via API"). Cancelling an appointment
    that is already CANCELLED returns it unchanged, so a repeated DELETE is harmless;
    COMPLETED and NO_SHOW cannot be cancelled (InvalidTransition)."""
    appointment = queries.get_appointment(appointment_id=appointment_id)
    if appointment.status == Status.CANCELLED:
        return appointment
    return transition_appointment(
        appointment_id=appointment_id, status=Status.CANCELLED, reason=(reason or "").strip() or DEFAULT_DELETE_REASON
    )
