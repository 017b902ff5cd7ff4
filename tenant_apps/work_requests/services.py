"""The rules of work requests.

- A customer says what they need (required), where (one of their own properties, or an
  address they type, kept as a property of theirs and reused when typed again; else their
  default property, if any), when suits them (their words), and may add photos. Photos are
  kept through the files app's rules for received files (type from the bytes, at most
  ATTACHMENT_MAX_BYTES each, images re-encoded without EXIF, the storage quota), all or none,
  with the request in one transaction.
- Staff convert a NEW request into an appointment (booked through the appointments service,
  so the exclusion constraint decides clashes) or a draft quote for the customer, or close it
  with a reason. Each change emits its `work_request.*` event; staff are told of new requests
  by the notifications that subscribe to it.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from shared_apps.errors import InvalidTransition, ValidationFailed
from shared_apps.events.services import emit
from shared_apps.tenants.models import Tenant
from tenant_apps.appointments import services as appointments
from tenant_apps.customers import queries as customer_queries
from tenant_apps.customers import services as customers
from tenant_apps.customers.models import Property
from tenant_apps.files import content as file_checks
from tenant_apps.files import services as files
from tenant_apps.files.models import Attachment
from tenant_apps.quotes import services as quotes
from tenant_apps.work_requests import queries
from tenant_apps.work_requests.models import WorkRequest

Status = WorkRequest.Status
MAX_DESCRIPTION = 2000
MAX_ADDRESS = 600
MAX_PREFERRED_TIMES = 500
MAX_REASON = 500
MAX_PHOTOS = 5
CONVERT_TO = ("appointment", "quote")


def _invalid(field: str, message: str, *, code: str | None = None) -> ValidationFailed:
    return ValidationFailed("Invalid work request.", code=code, details=[{"field": field, "message": message}])


def _bounded_text(value: str, *, field: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        raise _invalid(field, f"At most {limit} characters.")
    return value


def _place(*, customer_id: int, property_id: int | None, address: str) -> Property | None:
    """Where the work is (see the module's doc); naming both a property and an address is 400."""
    if property_id is not None and address:
        raise _invalid("address", "Give one of your addresses or a new one, not both.")
    if property_id is not None:
        return customers.require_customers_property(customer_id=customer_id, property_id=property_id)
    places = customer_queries.customer_properties(customer_id=customer_id)
    if address:
        known = places.filter(lines__iexact=address).first()
        return known or customers.create_property(customer_id=customer_id, data={"lines": address})
    return places.filter(is_default=True).first()


def _event_payload(request: WorkRequest, *, photo_count: int) -> dict[str, Any]:
    return {
        "work_request_id": request.pk,
        "customer_id": request.customer_id,
        "status": request.status,
        "property_id": request.service_property_id,
        "photo_count": photo_count,
    }


def create_work_request(
    *,
    customer_id: int,
    description: str,
    property_id: int | None = None,
    address: str = "",
    preferred_times: str = "",
    photos: Sequence[tuple[str, bytes]] = (),
    now: datetime | None = None,
) -> WorkRequest:
    """A NEW request of `customer_id` with its photos (`(filename, bytes)` each, at most
    MAX_PHOTOS). A refused photo refuses the request (400 naming `photos`, its code saying
    why); a full storage quota is 409 `storage_quota_exceeded`."""
    description = _bounded_text(description, field="description", limit=MAX_DESCRIPTION)
    if not description:
        raise _invalid("description", "Say what you need done.")
    address = _bounded_text(address, field="address", limit=MAX_ADDRESS)
    preferred_times = _bounded_text(preferred_times, field="preferred_times", limit=MAX_PREFERRED_TIMES)
    if len(photos) > MAX_PHOTOS:
        raise _invalid("photos", f"At most {MAX_PHOTOS} photos.")
    with transaction.atomic():
        if customer_queries.get_customer(customer_id=customer_id).archived_at is not None:
            raise _invalid("customer_id", "The customer is archived.")
        place = _place(customer_id=customer_id, property_id=property_id, address=address)
        request = WorkRequest.objects.create(
            customer_id=customer_id,
            description=description,
            service_property=place,
            preferred_times=preferred_times,
        )
        if photos:
            try:
                files.attach_files(parent_type=Attachment.Parent.WORK_REQUEST, parent_id=request.pk, files=photos)
            except file_checks.ContentRefused as refused:
                raise _invalid("photos", refused.message, code=refused.code) from None
        emit("work_request.created", now=now, **_event_payload(request, photo_count=len(photos)))
    return request


def _require_new(request: WorkRequest, *, requested: str) -> None:
    if request.status != Status.NEW:
        raise InvalidTransition(current=request.status, requested=requested, allowed=[])


def convert_work_request(
    *,
    tenant: Tenant,
    work_request_id: int,
    to: str,
    decided_by_id: int,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    staff_id: int | None = None,
    title: str = "",
    now: datetime | None = None,
) -> WorkRequest:
    """Turn a NEW request into what it leads to, at its property, with its words as notes:
    `to="appointment"` books `starts_at`..`ends_at` (with `staff_id`; a clash is DoubleBooking,
    and the request stays NEW), `to="quote"` starts a draft quote without items for staff to
    price."""
    now = now or timezone.now()
    if to not in CONVERT_TO:
        raise _invalid("to", f"One of {', '.join(CONVERT_TO)}.")
    with transaction.atomic():
        request = queries.get_work_request_for_update(work_request_id=work_request_id)
        _require_new(request, requested=Status.CONVERTED)
        notes = "\n".join(part for part in (request.description, request.preferred_times) if part)
        if to == "appointment":
            if starts_at is None or ends_at is None:
                raise _invalid("starts_at", "An appointment needs starts_at and ends_at.")
            request.appointment = appointments.create_appointment(
                tenant=tenant,
                customer_id=request.customer_id,
                title=(title.strip() or request.description.splitlines()[0])[:200],
                starts_at=starts_at,
                ends_at=ends_at,
                staff_id=staff_id,
                notes=notes,
                property_id=request.service_property_id,
                now=now,
            )
        else:
            request.quote = quotes.create_quote(
                tenant=tenant,
                now=now,
                customer_id=request.customer_id,
                items=[],
                property_id=request.service_property_id,
                notes=notes,
                created_by=decided_by_id,
            )
        request.status = Status.CONVERTED
        request.decided_by_id = decided_by_id
        request.decided_at = now
        request.version += 1
        request.save(
            update_fields=["appointment", "quote", "status", "decided_by_id", "decided_at", "version", "updated_at"]
        )
        emit(
            "work_request.converted",
            now=now,
            appointment_id=request.appointment_id,
            quote_id=request.quote_id,
            **_event_payload(request, photo_count=len(queries.photos_of(work_request_ids=[request.pk])[request.pk])),
        )
    return request


def close_work_request(
    *, work_request_id: int, decided_by_id: int, reason: str = "", now: datetime | None = None
) -> WorkRequest:
    """Close a NEW request without work, saying why if staff like (the customer sees it)."""
    now = now or timezone.now()
    reason = _bounded_text(reason, field="reason", limit=MAX_REASON)
    with transaction.atomic():
        request = queries.get_work_request_for_update(work_request_id=work_request_id)
        _require_new(request, requested=Status.CLOSED)
        request.status = Status.CLOSED
        request.close_reason = reason
        request.decided_by_id = decided_by_id
        request.decided_at = now
        request.version += 1
        request.save(update_fields=["status", "close_reason", "decided_by_id", "decided_at", "version", "updated_at"])
        photo_count = len(queries.photos_of(work_request_ids=[request.pk])[request.pk])
        emit("work_request.closed", now=now, reason=reason, **_event_payload(request, photo_count=photo_count))
    return request
