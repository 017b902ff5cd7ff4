"""Schemas quotes and invoices share: line items in and out, the common document fields, the
invoice as printed (a converted quote answers with it) and the PDF response."""

from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse
from ninja import Schema
from pydantic import Field

from api.schemas import OMITTED, PatchSchema, StrictSchema
from tenant_apps.billing.items import MAX_DESCRIPTION_CHARS, MAX_DESCRIPTION_LINES, MAX_ITEMS, ItemInput
from tenant_apps.billing.totals import MAX_AMOUNT


def decimal_text(value: Decimal) -> str:
    """A decimal as a plain JSON string without storage padding: 1.500000 -> "1.5"."""
    return format(value.normalize(), "f")


class ItemIn(StrictSchema):
    description: str = Field(
        min_length=1,
        max_length=MAX_DESCRIPTION_CHARS,
        description=f"At most {MAX_DESCRIPTION_CHARS} characters and {MAX_DESCRIPTION_LINES} lines.",
    )
    quantity: Decimal = Field(ge=0, max_digits=20, decimal_places=6)
    unit_price: int = Field(ge=0, le=MAX_AMOUNT)
    tax_rate: Decimal = Field(default=Decimal(0), ge=0, max_digits=9, decimal_places=4)
    discount: int = Field(default=0, ge=0, le=MAX_AMOUNT)

    def to_input(self) -> ItemInput:
        return ItemInput(
            description=self.description,
            quantity=self.quantity,
            unit_price=self.unit_price,
            tax_rate=self.tax_rate,
            discount=self.discount,
        )


class ItemOut(Schema):
    id: int
    description: str
    quantity: str
    unit_price: int
    tax_rate: str
    discount: int
    subtotal: int
    tax: int
    total: int

    @staticmethod
    def resolve_quantity(item) -> str:
        return decimal_text(item.quantity)

    @staticmethod
    def resolve_tax_rate(item) -> str:
        return decimal_text(item.tax_rate)


class DocumentOut(Schema):
    id: int
    number: str | None
    customer_id: int
    status: str
    currency: str
    items: list[ItemOut]
    subtotal: int
    discount_total: int
    tax_total: int
    total: int
    document_discount: int
    notes: str
    issued_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class DocumentIn(StrictSchema):
    customer_id: int
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    items: list[ItemIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    document_discount: int = Field(default=0, ge=0, le=MAX_AMOUNT)
    notes: str = Field(default="", max_length=10000)

    def service_fields(self) -> dict:
        fields = self.model_dump(exclude={"items"})
        fields["items"] = [item.to_input() for item in self.items]
        return fields


class DocumentPatch(PatchSchema):
    """Only the fields sent change."""

    version: int
    customer_id: int = OMITTED
    currency: str = Field(default=OMITTED, min_length=3, max_length=3)
    items: list[ItemIn] = Field(default=OMITTED, max_length=MAX_ITEMS)
    document_discount: int = Field(default=OMITTED, ge=0, le=MAX_AMOUNT)
    notes: str = Field(default=OMITTED, max_length=10000)

    def document_changes(self) -> dict:
        changes = self.changes(exclude={"version", "items"})
        if "items" in self.model_fields_set:
            changes["items"] = [item.to_input() for item in self.items]
        return changes


class InvoiceOut(DocumentOut):
    due_date: date
    amount_paid: int
    amount_due: int
    quote_id: int | None


def pdf_response(content: bytes, *, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
