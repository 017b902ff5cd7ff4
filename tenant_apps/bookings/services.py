"""The rules of online booking.

- A customer books an active price book service that has a duration (what the receptionist
  offers too), at a slot the calendar's own availability rules offer
  (`appointments.availability`): inside business hours, free of appointments (buffers
  included), time off and closed days, from now up to `online_booking_days_ahead` local days
  ahead in the business's zone.
- The business books straight away (`online_booking_confirm_first` off): the appointment is
  made with the first free staff member through `appointments.services.create_appointment`,
  so the exclusion constraint decides races; a slot taken meanwhile answers SlotTaken. With
  confirmation first the request waits, PENDING and holding nothing, until staff accept it
  (booked the same way, or with the staff member they name) or decline it.
- A request sent twice for the same service and time (a double tap, a reload) while the first
  is pending or accepted answers the first: nothing is booked twice.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from shared_apps.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from shared_apps.events.services import emit
from shared_apps.tenants.localtime import require_within_calendar
from shared_apps.tenants.models import Tenant
from tenant_apps.appointments import services as appointments
from tenant_apps.appointments.availability import Slot, find_available_slots
from tenant_apps.appointments.first_free import book_with_first_free_staff, free_staff
from tenant_apps.appointments.models import Appointment, AppointmentSettings
from tenant_apps.bookings import queries
from tenant_apps.bookings.models import OPEN_STATUSES, BookingRequest
from tenant_apps.customers.services import require_customers_property
from tenant_apps.pricebook.models import PriceBookItem
from tenant_apps.pricebook.queries import bookable_services

Status = BookingRequest.Status
MAX_NOTES = 2000
MAX_REASON = 500


class SlotTaken(Conflict):
    """The time asked for is not (or no longer) a free slot (409)."""

    code = "slot_taken"

    def __init__(self) -> None:
        super().__init__(
            "That time is not free any more; choose another.",
            details=[{"field": "starts_at", "message": "Not a free slot."}],
        )


@dataclass(frozen=True)
class BookingWindow:
    """The local days a customer may book: today up to `last_day`, in the business's zone."""

    first_day: date
    last_day: date


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed("Invalid booking.", details=[{"field": field, "message": message}])


def require_bookable_service(*, service_id: int) -> PriceBookItem:
    """An active service with a duration; any other id (a material, an inactive service,
    another business's) is NotFound naming `service_id`."""
    service = bookable_services().filter(pk=service_id).first()
    if service is None:
        raise NotFound("Service not found.", details=[{"field": "service_id"}])
    return service


def booking_window(*, tenant: Tenant, now: datetime, calendar: AppointmentSettings) -> BookingWindow:
    today = tenant.local_date(now)
    return BookingWindow(first_day=today, last_day=today + timedelta(days=calendar.online_booking_days_ahead))


def _require_in_window(day: date, *, window: BookingWindow, field: str) -> None:
    require_within_calendar(day, field=field)
    if not window.first_day <= day <= window.last_day:
        raise _invalid(field, f"Online booking is open from {window.first_day} to {window.last_day}.")


def list_booking_slots(*, tenant: Tenant, service_id: int, day: date, now: datetime) -> list[Slot]:
    """The free slots of a service on a local day, exactly as staff's availability finds them."""
    service = require_bookable_service(service_id=service_id)
    calendar = AppointmentSettings.load()
    _require_in_window(day, window=booking_window(tenant=tenant, now=now, calendar=calendar), field="date")
    assert service.duration_minutes is not None  # bookable_services() has only services with one
    return find_available_slots(
        tenant=tenant, day=day, duration_minutes=service.duration_minutes, now=now, calendar=calendar
    )


@dataclass(frozen=True)
class BookingOptions:
    """What a customer may book: the services, the local days, and whether staff confirm first."""

    services: list[PriceBookItem]
    window: BookingWindow
    confirm_first: bool


def booking_options(*, tenant: Tenant, now: datetime) -> BookingOptions:
    calendar = AppointmentSettings.load()
    return BookingOptions(
        services=list(bookable_services()),
        window=booking_window(tenant=tenant, now=now, calendar=calendar),
        confirm_first=calendar.online_booking_confirm_first,
    )


# How many days a customer opening the booking page is looked ahead for a first free day.
FIRST_FREE_DAY_SEARCH = 14


def first_free_day(*, tenant: Tenant, service_id: int, now: datetime) -> tuple[date, list[Slot]]:
    """The first local day in the booking window with a free slot (looking FIRST_FREE_DAY_SEARCH
    days ahead at most) and its slots; today and no slots when none was found."""
    service = require_bookable_service(service_id=service_id)
    assert service.duration_minutes is not None
    calendar = AppointmentSettings.load()
    window = booking_window(tenant=tenant, now=now, calendar=calendar)
    day = window.first_day
    while day <= min(window.last_day, window.first_day + timedelta(days=FIRST_FREE_DAY_SEARCH - 1)):
        slots = find_available_slots(
            tenant=tenant, day=day, duration_minutes=service.duration_minutes, now=now, calendar=calendar
        )
        if slots:
            return day, slots
        day += timedelta(days=1)
    return window.first_day, []


def _event_payload(request: BookingRequest) -> dict[str, Any]:
    return {
        "booking_request_id": request.pk,
        "customer_id": request.customer_id,
        "service_id": request.service_id,
        "status": request.status,
        "starts_at": request.starts_at,
        "ends_at": request.ends_at,
        "appointment_id": request.appointment_id,
    }


def _book(*, tenant: Tenant, request: BookingRequest, now: datetime, staff_id: int | None = None) -> Appointment:
    """The request's appointment: with `staff_id` when staff name one (a clash is
    DoubleBooking), else with the first free staff member of a slot still offered."""

    def book(staff: int) -> Appointment:
        return appointments.create_appointment(
            tenant=tenant,
            customer_id=request.customer_id,
            title=request.service_name,
            starts_at=request.starts_at,
            ends_at=request.ends_at,
            staff_id=staff,
            notes=request.notes,
            property_id=request.service_property_id,
            now=now,
        )

    if staff_id is not None:
        return book(staff_id)
    appointment = book_with_first_free_staff(
        tenant=tenant,
        starts_at=request.starts_at,
        duration_minutes=round((request.ends_at - request.starts_at).total_seconds() / 60),
        now=now,
        calendar=AppointmentSettings.load(),
        book=book,
    )
    if appointment is None:
        raise SlotTaken()
    return appointment


def request_booking(
    *,
    tenant: Tenant,
    customer_id: int,
    service_id: int,
    starts_at: datetime,
    property_id: int | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> tuple[BookingRequest, bool]:
    """A customer's booking of `service_id` at `starts_at` (a slot list_booking_slots offers),
    at one of their properties when given. Booked at once (ACCEPTED, with its appointment) or
    PENDING, as the business chose. Returns the request and whether it is new (False: the
    same request was made before and is answered as it stands). Raises SlotTaken."""
    now = now or timezone.now()
    if starts_at.tzinfo is None:
        raise _invalid("starts_at", "Times need a UTC offset.")
    require_within_calendar(starts_at, field="starts_at")
    notes = notes.strip()
    if len(notes) > MAX_NOTES:
        raise _invalid("notes", f"At most {MAX_NOTES} characters.")
    service = require_bookable_service(service_id=service_id)
    assert service.duration_minutes is not None
    calendar = AppointmentSettings.load()
    starts_at = starts_at.astimezone(UTC)
    window = booking_window(tenant=tenant, now=now, calendar=calendar)
    _require_in_window(tenant.local_date(starts_at), window=window, field="starts_at")
    with transaction.atomic():
        appointments.check_booking_parties(tenant=tenant, customer_id=customer_id, staff_id=None)
        require_customers_property(customer_id=customer_id, property_id=property_id)
        request = BookingRequest(
            customer_id=customer_id,
            service=service,
            service_name=service.name,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=service.duration_minutes),
            service_property_id=property_id,
            notes=notes,
            status=Status.PENDING,
        )
        try:
            with transaction.atomic():
                request.save()
        except IntegrityError as error:
            if "booking_request_once_per_slot" not in str(error):
                raise
            return _same_request(customer_id=customer_id, starts_at=starts_at, service_name=service.name), False
        if calendar.online_booking_confirm_first:
            if not free_staff(
                tenant=tenant,
                starts_at=starts_at,
                duration_minutes=service.duration_minutes,
                now=now,
                calendar=calendar,
            ):
                raise SlotTaken()
        else:
            request.appointment = _book(tenant=tenant, request=request, now=now)
            request.status = Status.ACCEPTED
            request.decided_at = now
            request.save(update_fields=["appointment", "status", "decided_at", "updated_at"])
        emit("booking.requested", now=now, **_event_payload(request))
    return request, True


def _same_request(*, customer_id: int, starts_at: datetime, service_name: str) -> BookingRequest:
    return BookingRequest.objects.get(
        customer_id=customer_id, starts_at=starts_at, service_name=service_name, status__in=OPEN_STATUSES
    )


def _require_pending(request: BookingRequest, *, requested: str) -> None:
    if request.status != Status.PENDING:
        raise InvalidTransition(current=request.status, requested=requested, allowed=[])


def accept_booking_request(
    *,
    tenant: Tenant,
    booking_request_id: int,
    decided_by_id: int,
    staff_id: int | None = None,
    now: datetime | None = None,
) -> BookingRequest:
    """Book a PENDING request: with `staff_id` when given (DoubleBooking when they are taken),
    else with the first free staff member (SlotTaken when nobody is free any more). A request
    whose time has passed cannot be accepted (409 `booking_request_past`)."""
    now = now or timezone.now()
    with transaction.atomic():
        request = queries.get_booking_request_for_update(booking_request_id=booking_request_id)
        _require_pending(request, requested=Status.ACCEPTED)
        if request.starts_at <= now:
            raise Conflict("The requested time has passed.", code="booking_request_past")
        request.appointment = _book(tenant=tenant, request=request, now=now, staff_id=staff_id)
        request.status = Status.ACCEPTED
        request.decided_by_id = decided_by_id
        request.decided_at = now
        request.version += 1
        request.save(update_fields=["appointment", "status", "decided_by_id", "decided_at", "version", "updated_at"])
        emit("booking.accepted", now=now, **_event_payload(request))
    return request


def decline_booking_request(
    *, booking_request_id: int, decided_by_id: int, reason: str = "", now: datetime | None = None
) -> BookingRequest:
    """Turn down a PENDING request, saying why if staff like (the customer sees it)."""
    now = now or timezone.now()
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise _invalid("reason", f"At most {MAX_REASON} characters.")
    with transaction.atomic():
        request = queries.get_booking_request_for_update(booking_request_id=booking_request_id)
        _require_pending(request, requested=Status.DECLINED)
        request.status = Status.DECLINED
        request.decline_reason = reason
        request.decided_by_id = decided_by_id
        request.decided_at = now
        request.version += 1
        request.save(update_fields=["status", "decline_reason", "decided_by_id", "decided_at", "version", "updated_at"])
        emit("booking.declined", now=now, reason=reason, **_event_payload(request))
    return request
