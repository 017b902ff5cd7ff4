"""Customers' online bookings, for staff: the list, and accepting or declining the ones that
wait (when the business confirms bookings first)."""

from datetime import datetime
from typing import Annotated

from ninja import Query, Router, Schema
from pydantic import Field

from api.auth import ApiRequest, member
from api.lists import paginate
from api.schemas import RowId, StorableSchema, StrictSchema, enum_of, example
from tenant_apps.bookings import queries, services
from tenant_apps.bookings.models import BookingRequest

router = Router(tags=["booking requests"])


class BookingRequestOut(Schema):
    model_config = example(
        id=12,
        customer_id=42,
        service_id=3,
        service_name="Boiler service",
        starts_at="2026-03-02T14:00:00Z",
        ends_at="2026-03-02T15:00:00Z",
        property_id=5,
        notes="The side gate is open.",
        status="PENDING",
        appointment_id=None,
        decline_reason="",
        decided_by_id=None,
        decided_at=None,
        version=1,
        created_at="2026-03-01T18:02:00Z",
    )

    id: int
    customer_id: int
    service_id: int | None = Field(description="The price book service; null once it was deleted.")
    service_name: str
    starts_at: datetime
    ends_at: datetime
    property_id: int | None = Field(description="The customer's property where the visit is.")
    notes: str
    status: Annotated[str, enum_of(BookingRequest.Status)]
    appointment_id: int | None = Field(description="The appointment it became, once ACCEPTED.")
    decline_reason: str
    decided_by_id: int | None = Field(description="The member who accepted or declined it.")
    decided_at: datetime | None
    version: int
    created_at: datetime

    @staticmethod
    def resolve_property_id(request: BookingRequest) -> int | None:
        return request.service_property_id


class BookingRequestFilters(StorableSchema):
    status: BookingRequest.Status | None = Field(default=None, description="Only those in this status.")
    customer_id: RowId | None = Field(default=None, description="Only this customer's.")


class AcceptIn(StrictSchema):
    staff_id: RowId | None = Field(default=None, description="Who does the visit; else the first free member.")


class DeclineIn(StrictSchema):
    reason: str = Field(default="", max_length=services.MAX_REASON, description="Shown to the customer.")


@router.get("", response=list[BookingRequestOut], auth=member)
@paginate
def list_booking_requests(request: ApiRequest, filters: Query[BookingRequestFilters]):
    """Customers' online bookings, newest first (`status=PENDING`: those waiting for you)."""
    return queries.list_booking_requests(status=filters.status, customer_id=filters.customer_id)


@router.get("/{booking_request_id}", response=BookingRequestOut, auth=member)
def get_booking_request(request: ApiRequest, booking_request_id: RowId):
    """One booking request."""
    return queries.get_booking_request(booking_request_id=booking_request_id)


@router.post("/{booking_request_id}/accept", response=BookingRequestOut, auth=member)
def accept_booking_request(request: ApiRequest, booking_request_id: RowId, payload: AcceptIn):
    """Book a PENDING request: 409 `slot_taken` when nobody is free any more (or
    `double_booking` for the `staff_id` named), `invalid_transition` once decided."""
    return services.accept_booking_request(
        tenant=request.auth.tenant,
        booking_request_id=booking_request_id,
        decided_by_id=request.auth.user_id,
        staff_id=payload.staff_id,
    )


@router.post("/{booking_request_id}/decline", response=BookingRequestOut, auth=member)
def decline_booking_request(request: ApiRequest, booking_request_id: RowId, payload: DeclineIn):
    """Turn down a PENDING request (the customer sees the reason)."""
    return services.decline_booking_request(
        booking_request_id=booking_request_id, decided_by_id=request.auth.user_id, reason=payload.reason
    )
