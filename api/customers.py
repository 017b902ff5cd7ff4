"""Customers and their history."""

from datetime import datetime
from typing import Any

from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from api.auth import ApiRequest, manager, member
from api.idempotency import idempotent
from api.schemas import OMITTED, PatchSchema, RowId, StorableSchema, StrictSchema
from tenant_apps.customers import queries, services
from tenant_apps.customers.history import get_customer_history_page

router = Router(tags=["customers"])


class CustomerOut(Schema):
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
    search: str = Field(default="", max_length=200)
    include_archived: bool = False


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
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=500)


@router.get("", response=list[CustomerOut], auth=member)
@paginate
def list_customers(request: ApiRequest, filters: Query[CustomerFilters]):
    return queries.list_customers(search=filters.search, include_archived=filters.include_archived)


@router.post("", response={201: CustomerOut}, auth=member)
@idempotent
def create_customer(request: ApiRequest, payload: CustomerIn):
    customer = services.create_customer(region=request.auth.tenant.country, data=payload.model_dump())
    return 201, customer


@router.get("/{customer_id}", response=CustomerOut, auth=member)
def get_customer(request: ApiRequest, customer_id: RowId):
    return queries.get_customer(customer_id=customer_id)


@router.patch("/{customer_id}", response=CustomerOut, auth=member)
def update_customer(request: ApiRequest, customer_id: RowId, payload: CustomerPatch):
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
    return get_customer_history_page(customer_id=customer_id, limit=params.limit, cursor=params.cursor)
