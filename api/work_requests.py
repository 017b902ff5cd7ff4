"""Customers' work requests, for staff: the list with photos, and converting a request into
an appointment or a draft quote, or closing it."""

from datetime import datetime
from typing import Annotated, Literal

from ninja import Query, Router, Schema
from pydantic import Field

from api.auth import ApiRequest, member
from api.lists import paginate
from api.schemas import InstantIn, RowId, StorableSchema, StrictSchema, enum_of, example
from tenant_apps.work_requests import queries, services
from tenant_apps.work_requests.models import WorkRequest

router = Router(tags=["work requests"])


class PhotoOut(Schema):
    id: int = Field(description="An attachment: GET /attachments/{id}/download for its URL.")
    filename: str
    content_type: str
    size: int


class WorkRequestOut(Schema):
    model_config = example(
        id=8,
        customer_id=42,
        description="The kitchen tap drips all night.",
        property_id=5,
        address="12 High Street, Leeds LS1 4AP",
        preferred_times="Weekday mornings",
        status="NEW",
        appointment_id=None,
        quote_id=None,
        close_reason="",
        photo_count=1,
        decided_by_id=None,
        decided_at=None,
        version=1,
        created_at="2026-03-01T18:02:00Z",
    )

    id: int
    customer_id: int
    description: str
    property_id: int | None = Field(description="The customer's property where the work is.")
    address: str | None = Field(description="That property on one line.")
    preferred_times: str
    status: Annotated[str, enum_of(WorkRequest.Status)]
    appointment_id: int | None
    quote_id: int | None
    close_reason: str
    photo_count: int
    decided_by_id: int | None
    decided_at: datetime | None
    version: int
    created_at: datetime

    @staticmethod
    def resolve_property_id(request: WorkRequest) -> int | None:
        return request.service_property_id

    @staticmethod
    def resolve_address(request: WorkRequest) -> str | None:
        return request.service_property.one_line() if request.service_property else None


class WorkRequestDetailOut(WorkRequestOut):
    photos: list[PhotoOut]


class WorkRequestFilters(StorableSchema):
    status: WorkRequest.Status | None = Field(default=None, description="Only those in this status.")
    customer_id: RowId | None = Field(default=None, description="Only this customer's.")


class ConvertIn(StrictSchema):
    model_config = example(to="appointment", starts_at="2026-03-03T09:00:00-05:00", ends_at="2026-03-03T10:00:00-05:00")

    to: Literal["appointment", "quote"]
    starts_at: InstantIn | None = Field(default=None, description="An appointment: when it starts.")
    ends_at: InstantIn | None = Field(default=None, description="An appointment: when it ends.")
    staff_id: RowId | None = Field(default=None, description="An appointment: who does it.")
    title: str = Field(default="", max_length=200, description="An appointment's title; else the request's words.")


class CloseIn(StrictSchema):
    reason: str = Field(default="", max_length=services.MAX_REASON, description="Shown to the customer.")


def _detail(work_request_id: int) -> WorkRequest:
    """The request with its ready photos set as `photos` (read by WorkRequestDetailOut)."""
    found = queries.get_work_request(work_request_id=work_request_id)
    found.photos = queries.photos_of(work_request_ids=[found.pk])[found.pk]  # type: ignore[attr-defined]
    return found


@router.get("", response=list[WorkRequestOut], auth=member)
@paginate
def list_work_requests(request: ApiRequest, filters: Query[WorkRequestFilters]):
    """Customers' work requests, newest first (`status=NEW`: those to answer)."""
    return queries.list_work_requests(status=filters.status, customer_id=filters.customer_id)


@router.get("/{work_request_id}", response=WorkRequestDetailOut, auth=member)
def get_work_request(request: ApiRequest, work_request_id: RowId):
    """One work request with its photos."""
    return _detail(work_request_id)


@router.post("/{work_request_id}/convert", response=WorkRequestDetailOut, auth=member)
def convert_work_request(request: ApiRequest, work_request_id: RowId, payload: ConvertIn):
    """Turn a NEW request into an appointment (`starts_at`, `ends_at`, optional `staff_id`;
    a clash is 409 `double_booking`) or a draft quote without items, at its property."""
    converted = services.convert_work_request(
        tenant=request.auth.tenant,
        work_request_id=work_request_id,
        decided_by_id=request.auth.user_id,
        **payload.model_dump(),
    )
    return _detail(converted.pk)


@router.post("/{work_request_id}/close", response=WorkRequestDetailOut, auth=member)
def close_work_request(request: ApiRequest, work_request_id: RowId, payload: CloseIn):
    """Close a NEW request without work (the customer sees the reason)."""
    closed = services.close_work_request(
        work_request_id=work_request_id, decided_by_id=request.auth.user_id, reason=payload.reason
    )
    return _detail(closed.pk)
