"""What a customer asks for from their link, as public JSON routes (the link's token is the
credential, on the business's own host): booking a service at a free slot, and asking for
work with photos. The pages (api/request_pages.py) call the same services. Both are rate
limited per customer and per IP within the business (RATE_LIMITS, 429 with Retry-After)."""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.utils import timezone
from ninja import File, Form, Path, Query, Router, Schema
from ninja.files import UploadedFile as NinjaUploadedFile
from pydantic import Field

from api.auth import ApiRequest
from api.portal import Token, open_visit
from api.ratelimit import client_ip, enforce_rate_limit
from api.schemas import CalendarDayIn, InstantIn, RowId, StorableSchema, StrictSchema, enum_of, example
from shared_apps.errors import ValidationFailed
from tenant_apps.bookings import queries as booking_queries
from tenant_apps.bookings import services as bookings
from tenant_apps.bookings.models import BookingRequest
from tenant_apps.customers.models import Property
from tenant_apps.customers.queries import customer_properties
from tenant_apps.portal.services import PortalVisit
from tenant_apps.work_requests import queries as work_queries
from tenant_apps.work_requests import services as work_requests
from tenant_apps.work_requests.models import WorkRequest

router = Router(tags=["portal"])

# A customer sees their own recent requests; older ones are the business's to look up.
LISTED = 50


def limit_customer_action(request: HttpRequest, visit: PortalVisit, kind: str) -> None:
    """Count this request against `kind`'s limits ("booking", "work_request"), per customer
    and per IP, both within the business; RateLimited past either."""
    schema = visit.tenant.schema_name
    enforce_rate_limit(request, f"{kind}_customer", subject=f"{schema}:customer:{visit.customer.pk}")
    enforce_rate_limit(request, f"{kind}_ip", subject=f"{schema}:ip:{client_ip(request)}")


def read_photos(files: Sequence[UploadedFile]) -> list[tuple[str, bytes]]:
    """The posted photos as (name, bytes), skipping empty file inputs. A file over the size
    limit is refused before it is read; the files app checks what is read."""
    photos = []
    for upload in files:
        if not upload.size:
            continue
        if upload.size > settings.ATTACHMENT_MAX_BYTES:
            raise ValidationFailed(
                "A photo is too large.",
                code="file_too_large",
                details=[{"field": "photos", "message": f"At most {settings.ATTACHMENT_MAX_BYTES} bytes each."}],
            )
        photos.append((upload.name or "photo", upload.read()))
    return photos


# How many of each the hub lists.
HUB_REQUESTS = 10


def hub_requests(visit: PortalVisit, *, now: datetime) -> dict[str, Any]:
    """What the hub page shows of these: bookings still ahead and recent work requests."""
    customer_id = visit.customer.pk
    ahead = booking_queries.list_booking_requests(customer_id=customer_id).filter(starts_at__gte=now)
    return {
        "booking_requests": list(ahead.order_by("starts_at", "id")[:HUB_REQUESTS]),
        "work_requests": list(work_queries.list_work_requests(customer_id=customer_id)[:HUB_REQUESTS]),
    }


# Booking


class BookableServiceOut(Schema):
    id: int
    name: str
    description: str
    duration_minutes: int
    unit_price: int = Field(description="Minor units of the business's currency.")
    unit: str


class BookingOptionsOut(Schema):
    confirm_first: bool = Field(description="Bookings wait for the business to accept them.")
    first_day: date = Field(description="The first local day that can be booked (the business's zone).")
    last_day: date
    timezone: str
    currency: str
    services: list[BookableServiceOut]


class PortalSlotOut(Schema):
    starts_at: datetime
    ends_at: datetime


class PortalSlotsOut(Schema):
    date: date
    timezone: str
    service_id: int
    duration_minutes: int
    slots: list[PortalSlotOut]


class SlotsParams(StorableSchema):
    service_id: RowId = Field(description="A bookable service (GET .../booking).")
    date: Annotated[CalendarDayIn, Field(description="The local day (the business's time zone).")]


class PortalBookingIn(StrictSchema):
    model_config = example(service_id=3, starts_at="2026-03-02T14:00:00Z", property_id=5, notes="Side gate")

    service_id: RowId
    starts_at: InstantIn = Field(description="A slot's starts_at (GET .../booking/slots).")
    property_id: RowId | None = Field(default=None, description="One of the customer's addresses (GET .../properties).")
    notes: str = Field(default="", max_length=bookings.MAX_NOTES)


class PortalBookingOut(Schema):
    id: int
    service_name: str
    starts_at: datetime
    ends_at: datetime
    status: Annotated[str, enum_of(BookingRequest.Status)] = Field(
        description="ACCEPTED: booked. PENDING: the business will confirm. DECLINED: see decline_reason."
    )
    address: str | None
    notes: str
    decline_reason: str
    created_at: datetime

    @staticmethod
    def resolve_address(booking: BookingRequest) -> str | None:
        return booking.service_property.one_line() if booking.service_property else None


class PortalPropertyOut(Schema):
    id: int
    label: str
    address: str
    is_default: bool

    @staticmethod
    def resolve_address(place: Property) -> str:
        return place.one_line()


BookingRequestId = Annotated[int, Path(description="A booking of the link's customer.", ge=1, le=2**63 - 1)]
WorkRequestId = Annotated[int, Path(description="A work request of the link's customer.", ge=1, le=2**63 - 1)]


@router.get("/{token}/booking", response=BookingOptionsOut, auth=None)
def get_booking_options(request: ApiRequest, token: Token):
    """What the customer may book: the business's services (its price book's active services
    with a length), the days open for booking, and whether the business confirms first."""
    visit = open_visit(request, token)
    options = bookings.booking_options(tenant=visit.tenant, now=timezone.now())
    return {
        "confirm_first": options.confirm_first,
        "first_day": options.window.first_day,
        "last_day": options.window.last_day,
        "timezone": visit.tenant.timezone,
        "currency": visit.tenant.currency,
        "services": options.services,
    }


@router.get("/{token}/booking/slots", response=PortalSlotsOut, auth=None)
def get_booking_slots(request: ApiRequest, token: Token, params: Query[SlotsParams]):
    """The free slots of a service on a local day: the same rules as the staff calendar's
    availability (hours, appointments and their buffers, time off, closed days)."""
    visit = open_visit(request, token)
    service = bookings.require_bookable_service(service_id=params.service_id)
    slots = bookings.list_booking_slots(tenant=visit.tenant, service_id=service.pk, day=params.date, now=timezone.now())
    return {
        "date": params.date,
        "timezone": visit.tenant.timezone,
        "service_id": service.pk,
        "duration_minutes": service.duration_minutes,
        "slots": slots,
    }


@router.get("/{token}/properties", response=list[PortalPropertyOut], auth=None)
def list_portal_properties(request: ApiRequest, token: Token):
    """The customer's addresses, the default first: where a visit or work can be."""
    visit = open_visit(request, token)
    return customer_properties(customer_id=visit.customer.pk)[:LISTED]


@router.post("/{token}/booking-requests", response={200: PortalBookingOut, 201: PortalBookingOut}, auth=None)
def create_portal_booking(request: ApiRequest, token: Token, payload: PortalBookingIn):
    """Book a slot: ACCEPTED with the visit booked, or PENDING when the business confirms
    first. 409 `slot_taken` when the time is not free (any more). The same booking sent again
    answers 200 with the first. Rate limited per customer and per IP (429, Retry-After)."""
    visit = open_visit(request, token)
    limit_customer_action(request, visit, "booking")
    booking, created = bookings.request_booking(
        tenant=visit.tenant,
        customer_id=visit.customer.pk,
        service_id=payload.service_id,
        starts_at=payload.starts_at,
        property_id=payload.property_id,
        notes=payload.notes,
    )
    return (201 if created else 200), booking


@router.get("/{token}/booking-requests", response=list[PortalBookingOut], auth=None)
def list_portal_bookings(request: ApiRequest, token: Token):
    """The customer's online bookings, newest first."""
    visit = open_visit(request, token)
    rows = booking_queries.list_booking_requests(customer_id=visit.customer.pk).select_related("service_property")
    return rows[:LISTED]


@router.get("/{token}/booking-requests/{booking_request_id}", response=PortalBookingOut, auth=None)
def get_portal_booking(request: ApiRequest, token: Token, booking_request_id: BookingRequestId):
    """One of the customer's bookings; another customer's is not found."""
    visit = open_visit(request, token)
    return booking_queries.get_booking_request(booking_request_id=booking_request_id, customer_id=visit.customer.pk)


# Work requests


class PortalWorkRequestOut(Schema):
    id: int
    description: str
    address: str | None
    preferred_times: str
    status: Annotated[str, enum_of(WorkRequest.Status)] = Field(
        description="NEW: the business will be in touch. CONVERTED: booked or quoted. CLOSED: see close_reason."
    )
    close_reason: str
    photo_count: int
    created_at: datetime

    @staticmethod
    def resolve_address(work: WorkRequest) -> str | None:
        return work.service_property.one_line() if work.service_property else None


class PortalWorkRequestIn(Schema):
    """A form (multipart/form-data), so that photos travel with it."""

    description: str = Field(min_length=1, max_length=work_requests.MAX_DESCRIPTION, description="What needs doing.")
    property_id: RowId | None = Field(default=None, description="One of the customer's addresses, or...")
    address: str = Field(default="", max_length=work_requests.MAX_ADDRESS, description="...a new address.")
    preferred_times: str = Field(
        default="", max_length=work_requests.MAX_PREFERRED_TIMES, description="When suits them, in their words."
    )


@router.post("/{token}/work-requests", response={201: PortalWorkRequestOut}, auth=None)
def create_portal_work_request(
    request: ApiRequest,
    token: Token,
    payload: Form[PortalWorkRequestIn],
    photos: File[list[NinjaUploadedFile]] = None,  # type: ignore[assignment]  # Ninja's optional files
):
    """Ask for work: what, where (one of the customer's addresses or a new one), when suits
    them, and up to five photos (JPEG, PNG, WebP, HEIC or PDF, told by their bytes; location
    and camera data removed). The business is told. Rate limited per customer and per IP."""
    visit = open_visit(request, token)
    limit_customer_action(request, visit, "work_request")
    created = work_requests.create_work_request(
        customer_id=visit.customer.pk,
        description=payload.description,
        property_id=payload.property_id,
        address=payload.address,
        preferred_times=payload.preferred_times,
        photos=read_photos(photos or []),
    )
    return 201, work_queries.get_work_request(work_request_id=created.pk)


@router.get("/{token}/work-requests", response=list[PortalWorkRequestOut], auth=None)
def list_portal_work_requests(request: ApiRequest, token: Token):
    """The customer's work requests, newest first."""
    visit = open_visit(request, token)
    return work_queries.list_work_requests(customer_id=visit.customer.pk)[:LISTED]


@router.get("/{token}/work-requests/{work_request_id}", response=PortalWorkRequestOut, auth=None)
def get_portal_work_request(request: ApiRequest, token: Token, work_request_id: WorkRequestId):
    """One of the customer's work requests; another customer's is not found."""
    visit = open_visit(request, token)
    return work_queries.get_work_request(work_request_id=work_request_id, customer_id=visit.customer.pk)
