"""Line items as entered, their limits, and their prices: turning entered items into priced
rows with `compute_totals`, in the document's currency."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
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
from tenant_apps.pricebook import queries as pricebook_queries

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
    # An optional line (quotes only) counts in the totals only while `selected`: the customer
    # ticks the ones they want.
    optional: bool = False
    selected: bool = True

    @property
    def included(self) -> bool:
        return not self.optional or self.selected


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceBookItemInput:
    """A line taken from the price book. Its name (and description), unit price and tax rate
    (none when the item is not taxable) are copied into the line when it is written, unless
    given here: later price book changes never reach a written document."""

    price_book_item_id: int
    quantity: Decimal
    discount: int = 0
    description: str | None = None
    unit_price: int | None = None
    tax_rate: Decimal | None = None
    optional: bool = False
    selected: bool = True


EnteredItem = ItemInput | PriceBookItemInput


def copy_price_book_items(items: Sequence[EnteredItem], *, currency: str, tenant: Tenant) -> list[ItemInput]:
    """The lines as written: those taken from the price book get the item's figures (read in
    one query). An unknown or inactive item, or a price book price in a document of another
    currency than the business's (unless the line gives its own price), is a 400 naming the line."""
    wanted = {item.price_book_item_id for item in items if isinstance(item, PriceBookItemInput)}
    if not wanted:
        return [item for item in items if isinstance(item, ItemInput)]
    found = {row.pk: row for row in pricebook_queries.list_price_book_items().filter(pk__in=wanted)}
    business_currency = document_currency(None, tenant=tenant)
    written: list[ItemInput] = []
    for index, item in enumerate(items):
        if isinstance(item, ItemInput):
            written.append(item)
            continue
        row = found.get(item.price_book_item_id)
        if row is None or not row.active:
            message = "Not an active item of the price book."
            _refuse_items(message, field=f"items.{index}.price_book_item_id", code="price_book_item_unavailable")
        if item.unit_price is None and currency != business_currency:
            message = f"Price book prices are in {business_currency.upper()}; give this line's unit_price."
            _refuse_items(message, field=f"items.{index}.unit_price", code="price_book_currency")
        copied_rate = row.tax_rate if row.taxable else Decimal(0)
        written.append(
            ItemInput(
                description=item.description or "\n".join(part for part in (row.name, row.description) if part),
                quantity=item.quantity,
                unit_price=row.unit_price if item.unit_price is None else item.unit_price,
                tax_rate=copied_rate if item.tax_rate is None else item.tax_rate,
                discount=item.discount,
                optional=item.optional,
                selected=item.selected,
            )
        )
    return written


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


def check_optional_items(items: Sequence[ItemInput], *, allowed: bool) -> None:
    """Only a kind that allows optional lines (quotes) may have them: a 400 naming the line."""
    if allowed:
        return
    for index, item in enumerate(items):
        if item.optional:
            _refuse_items("Only quotes have optional items.", field=f"items.{index}.optional", code="optional_item")


def _compute(
    items: Sequence[ItemInput], positions: Sequence[int], *, currency: str, document_discount: int
) -> DocumentTotals:
    """`compute_totals` for some of the entered items (at `positions`); money errors become a
    400 naming the field by the item's own position."""
    lines = [
        LineInput(quantity=item.quantity, unit_price=item.unit_price, tax_rate=item.tax_rate, discount=item.discount)
        for item in items
    ]
    try:
        return compute_totals(lines=lines, currency=currency, document_discount=document_discount)
    except InvalidLineItem as exc:
        field = f"items.{positions[exc.line_index]}.{exc.field}"
        raise ValidationFailed(exc.message, code=exc.code, details=[{"field": field, "message": exc.message}]) from exc
    except MoneyError as exc:
        field = exc.field or "items"
        raise ValidationFailed(exc.message, code=exc.code, details=[{"field": field, "message": exc.message}]) from exc


def price_items(*, items: Sequence[ItemInput], currency: str, document_discount: int) -> DocumentTotals:
    """`compute_totals` for entered items; money errors become a 400 naming the field. The
    document's figures are those of the included items (optional ones only while selected);
    an optional item left out is priced on its own, without a share of the document discount,
    so the customer sees what ticking it adds. `lines` follows the items' order."""
    chosen = [index for index, item in enumerate(items) if item.included]
    left_out = [index for index, item in enumerate(items) if not item.included]
    totals = _compute([items[i] for i in chosen], chosen, currency=currency, document_discount=document_discount)
    if left_out:
        apart = _compute([items[i] for i in left_out], left_out, currency=currency, document_discount=0)
        by_position = dict(zip(chosen, totals.lines, strict=True)) | dict(zip(left_out, apart.lines, strict=True))
        totals = replace(totals, lines=tuple(by_position[index] for index in range(len(items))))
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
            **({"optional": item.optional, "selected": item.selected} if document.allows_optional_items else {}),
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
            optional=getattr(row, "optional", False),
            selected=getattr(row, "selected", True),
        )
        for row in rows
    ]


def included_items(items: Sequence[ItemInput]) -> list[ItemInput]:
    """The items the totals count, as plain lines (what a converted quote's invoice gets)."""
    return [replace(item, optional=False, selected=True) for item in items if item.included]
