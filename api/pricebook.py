"""The price book: services and materials with their prices (owners and admins write, every
member reads)."""

from datetime import datetime
from decimal import Decimal
from typing import Literal

from ninja import Query, Router, Schema
from pydantic import Field

from api.auth import ApiRequest, manager, member
from api.documents import decimal_text
from api.idempotency import idempotent
from api.lists import paginate
from api.schemas import OMITTED, PatchSchema, RowId, StorableSchema, StrictSchema, example
from tenant_apps.billing.items import MAX_DESCRIPTION_CHARS
from tenant_apps.billing.totals import MAX_AMOUNT
from tenant_apps.pricebook import queries, services
from tenant_apps.pricebook.models import PriceBookItem

router = Router(tags=["price book"])

Kind = Literal["service", "material"]
EXAMPLE_ITEM = {
    "kind": "service",
    "name": "Boiler service",
    "description": "Yearly inspection and cleaning of a gas boiler.",
    "unit_price": 12000,
    "unit": "visit",
    "tax_rate": "20",
    "taxable": True,
    "active": True,
    "duration_minutes": 90,
}
_MINUTES = Field(description="Services only: how long a visit is booked for.")


class PriceBookItemOut(Schema):
    model_config = example(
        id=7, **EXAMPLE_ITEM, version=1, created_at="2026-03-02T14:05:00Z", updated_at="2026-03-02T14:05:00Z"
    )

    id: int
    kind: Kind
    name: str
    description: str
    unit_price: int = Field(description="Minor units of the business's currency.")
    unit: str
    tax_rate: str = Field(description="Percent, as on document items.")
    taxable: bool
    active: bool
    duration_minutes: int | None = _MINUTES
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_tax_rate(item: PriceBookItem) -> str:
        return decimal_text(item.tax_rate)


class PriceBookItemIn(StrictSchema):
    model_config = example(**EXAMPLE_ITEM)

    kind: Kind
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)
    unit_price: int = Field(ge=0, le=MAX_AMOUNT)
    unit: str = Field(default="", max_length=30)
    tax_rate: Decimal = Field(default=Decimal(0), ge=0, le=1000, max_digits=9, decimal_places=4)
    taxable: bool = True
    active: bool = True
    duration_minutes: int | None = Field(default=None, ge=0, le=10**6, description="Services only.")


class PriceBookItemPatch(PatchSchema):
    """Only the fields sent change; `null` clears `duration_minutes`."""

    kind: Kind = OMITTED
    name: str = Field(default=OMITTED, min_length=1, max_length=200)
    description: str = Field(default=OMITTED, max_length=MAX_DESCRIPTION_CHARS)
    unit_price: int = Field(default=OMITTED, ge=0, le=MAX_AMOUNT)
    unit: str = Field(default=OMITTED, max_length=30)
    tax_rate: Decimal = Field(default=OMITTED, ge=0, le=1000, max_digits=9, decimal_places=4)
    taxable: bool = OMITTED
    active: bool = OMITTED
    duration_minutes: int | None = Field(default=None, ge=0, le=10**6)
    version: int


class PriceBookFilters(StorableSchema):
    kind: Kind | None = Field(default=None, description="Only services or materials.")
    active: bool | None = Field(default=None, description="Only active (or inactive) items.")
    search: str = Field(default="", max_length=200, description="Part of the name or description.")


@router.get("", response=list[PriceBookItemOut], auth=member)
@paginate
def list_price_book_items(request: ApiRequest, filters: Query[PriceBookFilters]):
    """Services, then materials, by name."""
    return queries.list_price_book_items(kind=filters.kind, active=filters.active, search=filters.search)


@router.post("", response={201: PriceBookItemOut}, auth=manager)
@idempotent
def create_price_book_item(request: ApiRequest, payload: PriceBookItemIn):
    """Add a service or material (owners and admins); a name its kind already has answers 409."""
    return 201, services.create_price_book_item(data=payload.model_dump())


@router.get("/{item_id}", response=PriceBookItemOut, auth=member)
def get_price_book_item(request: ApiRequest, item_id: RowId):
    """One item."""
    return queries.get_price_book_item(item_id=item_id)


@router.patch("/{item_id}", response=PriceBookItemOut, auth=manager)
def update_price_book_item(request: ApiRequest, item_id: RowId, payload: PriceBookItemPatch):
    """Change an item; `version` must be the one you read (409 when stale). Quotes and
    invoices that took it keep the figures they copied."""
    return services.update_price_book_item(
        item_id=item_id, changes=payload.changes(exclude={"version"}), version=payload.version
    )


@router.delete("/{item_id}", response={204: None}, auth=manager)
def delete_price_book_item(request: ApiRequest, item_id: RowId):
    """Remove an item (documents keep their copies); set `active: false` to retire it instead."""
    services.delete_price_book_item(item_id=item_id)
    return 204, None
