"""What quote and invoice services share: turning entered line items into priced rows with
`compute_totals`, version checks, and the stored PDF of a document."""

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn

from django.db import connection, transaction
from django.utils import timezone

from shared_apps.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from shared_apps.tenants.models import Tenant
from tenant_apps.customers.models import Customer
from tenant_apps.invoices.models import Document, DocumentItem, StoredPdf
from tenant_apps.invoices.pdf import PdfDocument, PdfLine, render_document_pdf
from tenant_apps.invoices.totals import (
    DocumentTotals,
    InvalidLineItem,
    LineInput,
    MoneyError,
    compute_totals,
    normalize_currency,
)

# The totals engine accepts up to 10**18 per line; the sum of many such lines must still fit
# a PostgreSQL bigint, so documents are capped well below it.
MAX_DOCUMENT_AMOUNT = 10**18

# What one document may hold: far beyond a real job's quote or invoice, and small enough that
# the largest accepted document renders in a fraction of a second (bench/pdf.py).
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
    if max(totals.subtotal, totals.total) > MAX_DOCUMENT_AMOUNT:
        message = "The document's total is too large."
        raise ValidationFailed(message, details=[{"field": "items", "message": message}])
    return totals


def apply_totals(document: Document, totals: DocumentTotals) -> None:
    document.subtotal = totals.subtotal
    document.discount_total = totals.discount_total
    document.tax_total = totals.tax_total
    document.total = totals.total


def build_item_rows(
    *, model: type[DocumentItem], parent: dict[str, Document], items: Sequence[ItemInput], totals: DocumentTotals
) -> list[DocumentItem]:
    """Unsaved item rows (for bulk_create) carrying their computed figures."""
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


def editable_fields(*, date_field: str) -> frozenset[str]:
    """What a draft's PATCH may change: the shared fields plus the document's own date."""
    return frozenset({"customer_id", "currency", "items", "document_discount", "notes", date_field})


def edit_draft(
    document: Document,
    *,
    tenant: Tenant,
    changes: Mapping[str, Any],
    date_field: str,
    item_model: type[DocumentItem],
    parent_field: str,
) -> None:
    """Apply a draft's edits and reprice it. The caller has locked the document and checked
    its version (`require_editable`); `items`, when given, replace every line."""
    if "customer_id" in changes:
        document.customer = require_customer(customer_id=changes["customer_id"])
    if "currency" in changes:
        document.currency = document_currency(changes["currency"], tenant=tenant)
    for field in ("document_discount", "notes", date_field):
        if field in changes:
            setattr(document, field, changes[field])
    _reprice(document, items=changes.get("items"), item_model=item_model, parent_field=parent_field)
    document.version += 1
    document.save()


def _reprice(
    document: Document, *, items: Sequence[ItemInput] | None, item_model: type[DocumentItem], parent_field: str
) -> None:
    """Recompute totals; new `items` replace the old rows, otherwise the old rows get their
    new figures (a document discount or currency change moves every line)."""
    if items is not None:
        check_item_limits(items)
    rows = list(document.items.all())
    entered = items if items is not None else items_of(rows)
    totals = price_items(items=entered, currency=document.currency, document_discount=document.document_discount)
    apply_totals(document, totals)
    new_rows = build_item_rows(model=item_model, parent={parent_field: document}, items=entered, totals=totals)
    if items is not None:
        document.items.all().delete()
        item_model.objects.bulk_create(new_rows)
        return
    for row, new in zip(rows, new_rows, strict=True):
        row.subtotal, row.tax, row.total = new.subtotal, new.tax, new.total
    item_model.objects.bulk_update(rows, ["subtotal", "tax", "total"])


def require_customer(*, customer_id: int) -> Customer:
    """The customer in the current tenant's schema; another tenant's id is simply absent."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound("Customer not found.", details=[{"field": "customer_id"}])
    return customer


def require_editable(document: Document, *, version: int, draft_status: str) -> None:
    """Only drafts are edited, and only from the version the editor saw."""
    if document.status != draft_status:
        raise Conflict(
            f"Only drafts can be edited; this document is {document.status}.",
            code="not_editable",
            details=[{"status": document.status}],
        )
    if version != document.version:
        raise StaleVersion(current_version=document.version)


def require_deletable(document: Document, *, draft_status: str, instead: str) -> None:
    """Numbered documents are part of the books: they change status, never disappear."""
    if document.status != draft_status:
        raise Conflict(
            f"A numbered document cannot be deleted; {instead}.",
            code="numbered_document",
            details=[{"number": document.number, "status": document.status}],
        )


def delete_draft(document: Document, *, document_type: str) -> None:
    """Delete a draft (the caller checked `require_deletable`) and its stored PDF."""
    StoredPdf.objects.filter(document_type=document_type, document_id=document.pk).delete()
    document.delete()


def require_items(items: Sequence[object]) -> None:
    if not items:
        message = "A document needs at least one line item before it is sent."
        raise ValidationFailed(message, code="empty_document", details=[{"field": "items", "message": message}])


def pdf_lines(rows: Sequence[DocumentItem]) -> list[PdfLine]:
    return [
        PdfLine(
            description=row.description,
            quantity=row.quantity.normalize(),
            unit_price=row.unit_price,
            tax_rate=row.tax_rate.normalize(),
            amount=row.subtotal,
            discount=row.discount,
        )
        for row in rows
    ]


def pdf_document(document: Document, *, tenant: Tenant, kind: str, **extra: Any) -> PdfDocument:
    """What a quote's and an invoice's PDF share; `extra` adds the kind's own fields (dates,
    balance)."""
    issued = document.issued_at or timezone.now()
    return PdfDocument(
        kind=kind,
        number=document.number,
        business_name=tenant.name or tenant.slug or "",
        customer_name=document.customer.name,
        customer_email=document.customer.email or None,
        customer_address=document.customer.address or None,
        issue_date=tenant.local_date(issued),
        currency=document.currency,
        lines=pdf_lines(list(document.items.all())),
        subtotal=document.subtotal,
        discount_total=document.discount_total,
        tax_total=document.tax_total,
        total=document.total,
        notes=document.notes or None,
        **extra,
    )


def stored_document_pdf(
    *,
    document_type: str,
    document: Document,
    is_draft: bool,
    lock: Callable[[], Document],
    describe: Callable[[Document], PdfDocument],
) -> bytes:
    """The PDF of `document`, rendered once and then served from its StoredPdf row.

    A numbered document's PDF is kept for its `version`: what was issued stays as issued. A
    draft's is kept while everything it prints is unchanged, its version but also its
    customer, the business name and the day (a draft is dated today), so it follows every
    change without being rendered on every request.

    What to print is read under the document's row lock (`lock`), so items and totals are
    of one version; rendering runs after the lock is released, and the result is stored
    unless a newer version was stored meanwhile."""
    stored = StoredPdf.objects.filter(document_type=document_type, document_id=document.pk).first()
    if not is_draft and stored is not None and stored.document_version == document.version:
        return bytes(stored.content)
    with transaction.atomic():
        locked = lock()
        description = describe(locked)
    inputs = hashlib.sha256(repr(description).encode()).hexdigest()
    if stored is not None and (stored.document_version, stored.inputs_sha256) == (locked.version, inputs):
        return bytes(stored.content)
    content = render_document_pdf(document=description)
    return _store_pdf(
        document_type=document_type, document_id=locked.pk, version=locked.version, inputs=inputs, content=content
    )


def _store_pdf(*, document_type: str, document_id: int, version: int, inputs: str, content: bytes) -> bytes:
    """Keep `content` as the document's PDF unless a newer version's is stored, and return
    the bytes to serve: those stored first when a concurrent request rendered the same
    inputs, so every client gets identical bytes."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO invoices_storedpdf AS stored
                (document_type, document_id, document_version, inputs_sha256, content, sha256, rendered_at)
            VALUES (%s, %s, %s, %s, %s, %s, now())
            ON CONFLICT (document_type, document_id) DO UPDATE SET
                document_version = EXCLUDED.document_version,
                inputs_sha256 = EXCLUDED.inputs_sha256,
                content = EXCLUDED.content,
                sha256 = EXCLUDED.sha256,
                rendered_at = EXCLUDED.rendered_at
            WHERE stored.document_version < EXCLUDED.document_version
               OR (stored.document_version = EXCLUDED.document_version
                   AND stored.inputs_sha256 <> EXCLUDED.inputs_sha256)
            RETURNING 1
            """,
            [document_type, document_id, version, inputs, content, hashlib.sha256(content).hexdigest()],
        )
        if cursor.fetchone() is not None:
            return content
    first = StoredPdf.objects.filter(
        document_type=document_type, document_id=document_id, document_version=version, inputs_sha256=inputs
    ).first()
    return bytes(first.content) if first is not None else content
