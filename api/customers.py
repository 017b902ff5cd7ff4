"""Customers and their history."""

from datetime import datetime
from typing import Any

from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from api.auth import ApiRequest, manager, member
from api.idempotency import idempotent
from api.schemas import OMITTED, PatchSchema, RowId, StorableSchema, StrictSchema, example
from tenant_apps.customers import queries, services
from tenant_apps.customers.history import get_customer_history_page

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
