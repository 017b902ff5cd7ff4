"""Customers and their history."""

from datetime import datetime
from typing import Any

from ninja import Query, Router, Schema
from pydantic import Field

from api.auth import ApiRequest, manager, member
from api.idempotency import idempotent
from api.lists import paginate
from api.schemas import OMITTED, PatchSchema, RowId, StorableSchema, StrictSchema, example
from tenant_apps.customers import queries, services
from tenant_apps.customers.history import get_customer_history_page
from tenant_apps.customers.models import Property

EXAMPLE_CUSTOMER = {
    "name": "Jane Doe",
    "email": "jane@example.com",
    "phone": "+12025550123",
    "address": "1 Main St, Springfield",
    "notes": "Side gate code 4412",
    "sms_opt_out": False,
}

router = Router(tags=["customers"])


class CustomerOut(Schema):
    model_config = example(
        id=42,
        **EXAMPLE_CUSTOMER,
        archived_at=None,
        version=1,
        created_at="2026-03-02T14:05:00Z",
        updated_at="2026-03-02T14:05:00Z",
    )

    id: int
    name: str
    email: str
    phone: str
    address: str
    notes: str
    sms_opt_out: bool
    archived_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class CustomerIn(StrictSchema):
    model_config = example(**EXAMPLE_CUSTOMER)

    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=2000)
    notes: str | None = Field(default=None, max_length=10000)
    sms_opt_out: bool = False


class CustomerPatch(PatchSchema):
    """`null` clears email, phone, address or notes."""

    name: str = Field(default=OMITTED, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=2000)
    notes: str | None = Field(default=None, max_length=10000)
    sms_opt_out: bool = OMITTED
    # Required: every edit is optimistic, a stale version answers 409 (as for appointments).
    version: int


class CustomerFilters(StorableSchema):
    search: str = Field(default="", max_length=200, description="Part of the name, email or phone.")
    include_archived: bool = Field(default=False, description="Also archived customers.")


class HistoryEntryOut(Schema):
    kind: str
    id: int
    occurred_at: datetime
    title: str
    status: str | None
    data: dict[str, Any]


class HistoryPageOut(Schema):
    items: list[HistoryEntryOut]
    # Pass as `cursor` for the next page; null on the last page. There is no total count.
    next_cursor: str | None


class HistoryParams(StorableSchema):
    limit: int = Field(default=50, ge=1, le=200, description="How many entries to answer at most.")
    cursor: str | None = Field(
        default=None, max_length=500, description="`next_cursor` of the previous page; none for the newest entries."
    )


@router.get("", response=list[CustomerOut], auth=member)
@paginate
def list_customers(request: ApiRequest, filters: Query[CustomerFilters]):
    """The business's customers, newest first; `search` matches name, email or phone digits."""
    return queries.list_customers(search=filters.search, include_archived=filters.include_archived)


@router.post("", response={201: CustomerOut}, auth=member)
@idempotent
def create_customer(request: ApiRequest, payload: CustomerIn):
    """Add a customer; the phone number is stored in E.164 (read in the business's country)."""
    customer = services.create_customer(region=request.auth.tenant.country, data=payload.model_dump())
    return 201, customer


@router.get("/{customer_id}", response=CustomerOut, auth=member)
def get_customer(request: ApiRequest, customer_id: RowId):
    """One customer."""
    return queries.get_customer(customer_id=customer_id)


@router.patch("/{customer_id}", response=CustomerOut, auth=member)
def update_customer(request: ApiRequest, customer_id: RowId, payload: CustomerPatch):
    """Change a customer; `version` must be the one you read (409 when stale)."""
    return services.update_customer(
        customer_id=customer_id,
        region=request.auth.tenant.country,
        changes=payload.changes(exclude={"version"}),
        version=payload.version,
    )


@router.delete("/{customer_id}", response={204: None}, auth=manager)
def delete_customer(request: ApiRequest, customer_id: RowId):
    """Deletes the customer, or archives it when documents refer to it (either way 204)."""
    services.delete_customer(customer_id=customer_id)
    return 204, None


@router.get("/{customer_id}/history", response=HistoryPageOut, auth=member)
def get_customer_history(request: ApiRequest, customer_id: RowId, params: Query[HistoryParams]):
    """Everything that happened with a customer (appointments, documents, payments, texts,
    calls), newest first, a cursor page at a time."""
    return get_customer_history_page(customer_id=customer_id, limit=params.limit, cursor=params.cursor)


EXAMPLE_PROPERTY = {
    "label": "Flat 2",
    "lines": "12 High Street\nFlat 2",
    "city": "Leeds",
    "region": "West Yorkshire",
    "postal_code": "LS1 4AP",
    "country": "GB",
    "access_notes": "Key in the lockbox, code 4412.",
    "is_default": True,
}


class PropertyOut(Schema):
    model_config = example(
        id=5,
        customer_id=42,
        **EXAMPLE_PROPERTY,
        one_line="12 High Street, Flat 2, Leeds West Yorkshire LS1 4AP, GB",
        version=1,
        created_at="2026-03-02T14:05:00Z",
        updated_at="2026-03-02T14:05:00Z",
    )

    id: int
    customer_id: int
    label: str
    lines: str = Field(description="Street lines, separated by newlines.")
    city: str
    region: str
    postal_code: str
    country: str = Field(description="ISO 3166 code; blank: the business's country.")
    access_notes: str
    is_default: bool
    one_line: str = Field(description="The whole address on one line, as calendars and the receptionist give it.")
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_one_line(place: Property) -> str:
        return place.one_line()


class PropertyIn(StrictSchema):
    model_config = example(**EXAMPLE_PROPERTY)

    label: str = Field(default="", max_length=100)
    lines: str = Field(min_length=1, max_length=600, description="At most 5 lines.")
    city: str = Field(default="", max_length=100)
    region: str = Field(default="", max_length=100)
    postal_code: str = Field(default="", max_length=20)
    country: str = Field(default="", max_length=2, description="ISO 3166 code; blank: the business's country.")
    access_notes: str = Field(default="", max_length=2000)
    is_default: bool = Field(default=False, description="A customer's first property is the default anyway.")


class PropertyPatch(PatchSchema):
    """Only the fields sent change; `is_default: true` takes the default from the old one."""

    label: str = Field(default=OMITTED, max_length=100)
    lines: str = Field(default=OMITTED, min_length=1, max_length=600)
    city: str = Field(default=OMITTED, max_length=100)
    region: str = Field(default=OMITTED, max_length=100)
    postal_code: str = Field(default=OMITTED, max_length=20)
    country: str = Field(default=OMITTED, max_length=2)
    access_notes: str = Field(default=OMITTED, max_length=2000)
    is_default: bool = OMITTED
    version: int


@router.get("/{customer_id}/properties", response=list[PropertyOut], auth=member)
@paginate
def list_properties(request: ApiRequest, customer_id: RowId):
    """The places where the business works for this customer, the default first."""
    return queries.list_properties(customer_id=customer_id)


@router.post("/{customer_id}/properties", response={201: PropertyOut}, auth=member)
@idempotent
def create_property(request: ApiRequest, customer_id: RowId, payload: PropertyIn):
    """Add a property; the customer's first one is its default."""
    return 201, services.create_property(customer_id=customer_id, data=payload.model_dump())


@router.get("/{customer_id}/properties/{property_id}", response=PropertyOut, auth=member)
def get_property(request: ApiRequest, customer_id: RowId, property_id: RowId):
    """One property of the customer."""
    return queries.get_property(customer_id=customer_id, property_id=property_id)


@router.patch("/{customer_id}/properties/{property_id}", response=PropertyOut, auth=member)
def update_property(request: ApiRequest, customer_id: RowId, property_id: RowId, payload: PropertyPatch):
    """Change a property; `version` must be the one you read (409 when stale)."""
    return services.update_property(
        customer_id=customer_id,
        property_id=property_id,
        changes=payload.changes(exclude={"version"}),
        version=payload.version,
    )


@router.delete("/{customer_id}/properties/{property_id}", response={204: None}, auth=manager)
def delete_property(request: ApiRequest, customer_id: RowId, property_id: RowId):
    """Delete a property (owners and admins); one that appointments or documents name answers
    409 `property_in_use`. When the default goes, the oldest remaining one takes over."""
    services.delete_property(customer_id=customer_id, property_id=property_id)
    return 204, None
