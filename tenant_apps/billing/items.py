"""Line items as entered, their limits, and their prices: turning entered items into priced
rows with `compute_totals`, in the document's currency."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NoReturn

from shared_apps.errors import ValidationFailed
from shared_apps.tenants.models import Tenant
from tenant_apps.billing.models import Document, DocumentItem
from tenant_apps.billing.totals import (
    MAX_AMOUNT,
    DocumentTotals,
    InvalidLineItem,
    LineInput,
    MoneyError,
    compute_totals,
    normalize_currency,
)

# What one document may hold: far beyond a real job's quote or invoice, and small enough that
# the largest accepted document renders in a fraction of a second with the core fonts and in
# about two seconds in Chinese with the Unicode fonts (bench/pdf.py), once per version.
MAX_ITEMS = 100
MAX_DESCRIPTION_CHARS = 2000
MAX_DESCRIPTION_LINES = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemInput:
    """One line item as a client entered it."""

    description: str
    quantity: Decimal
    unit_price: int
    tax_rate: Decimal = Decimal(0)
    discount: int = 0


def document_currency(currency: str | None, *, tenant: Tenant) -> str:
    """A document's currency as stored (lower-case ISO 4217), the tenant's by default."""
    try:
        return normalize_currency(currency or tenant.currency).lower()
    except MoneyError as exc:
        raise ValidationFailed(exc.message, details=[{"field": "currency", "message": exc.message}]) from exc


def check_item_limits(items: Sequence[ItemInput]) -> None:
    """Entered items within MAX_ITEMS, and each description within MAX_DESCRIPTION_CHARS
    characters and MAX_DESCRIPTION_LINES lines; a violation is a 400 naming the limit.
    Checked where items are entered, so documents stored under older limits still reprice
    and convert."""
    if len(items) > MAX_ITEMS:
        _refuse_items(f"items: at most {MAX_ITEMS} line items per document", field="items", code="too_many_items")
    for index, item in enumerate(items):
        field = f"items.{index}.description"
        if len(item.description) > MAX_DESCRIPTION_CHARS:
            message = f"items[{index}].description: at most {MAX_DESCRIPTION_CHARS} characters"
            _refuse_items(message, field=field, code="description_too_long")
        # Each newline starts a printed line, trailing ones included.
        if item.description.count("\n") >= MAX_DESCRIPTION_LINES:
            message = f"items[{index}].description: at most {MAX_DESCRIPTION_LINES} lines"
            _refuse_items(message, field=field, code="description_too_many_lines")


def _refuse_items(message: str, *, field: str, code: str) -> NoReturn:
    raise ValidationFailed(message, code=code, details=[{"field": field, "message": message}])


def price_items(*, items: Sequence[ItemInput], currency: str, document_discount: int) -> DocumentTotals:
    """`compute_totals` for entered items; money errors become a 400 naming the field."""
    lines = [
        LineInput(quantity=item.quantity, unit_price=item.unit_price, tax_rate=item.tax_rate, discount=item.discount)
        for item in items
    ]
    try:
        totals = compute_totals(lines=lines, currency=currency, document_discount=document_discount)
    except InvalidLineItem as exc:
        field = f"items.{exc.line_index}.{exc.field}"
        raise ValidationFailed(exc.message, code=exc.code, details=[{"field": field, "message": exc.message}]) from exc
    except MoneyError as exc:
        field = exc.field or "items"
        raise ValidationFailed(exc.message, code=exc.code, details=[{"field": field, "message": exc.message}]) from exc
    # Each line is within MAX_AMOUNT; many of them together may not be.
    if max(totals.subtotal, totals.total) > MAX_AMOUNT:
        message = "The document's total is too large."
        raise ValidationFailed(message, details=[{"field": "items", "message": message}])
    return totals


def apply_totals(document: Document, totals: DocumentTotals) -> None:
    document.subtotal = totals.subtotal
    document.discount_total = totals.discount_total
    document.tax_total = totals.tax_total
    document.total = totals.total


def build_item_rows(*, document: Document, items: Sequence[ItemInput], totals: DocumentTotals) -> list[DocumentItem]:
    """Unsaved item rows of `document` (for bulk_create) carrying their computed figures."""
    model = document.item_model()
    parent = {document.item_parent_field(): document}
    return [
        model(
            **parent,
            position=position,
            description=item.description,
            quantity=item.quantity,
            unit_price=item.unit_price,
            tax_rate=item.tax_rate,
            discount=item.discount,
            subtotal=line.subtotal,
            tax=line.tax,
            total=line.total,
        )
        for position, (item, line) in enumerate(zip(items, totals.lines, strict=True))
    ]


def items_of(rows: Sequence[DocumentItem]) -> list[ItemInput]:
    """The entered values of stored items (to reprice or copy them)."""
    return [
        ItemInput(
            description=row.description,
            quantity=row.quantity,
            unit_price=row.unit_price,
            tax_rate=row.tax_rate,
            discount=row.discount,
        )
        for row in rows
    ]
