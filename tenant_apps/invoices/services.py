"""The rules for invoices: drafting, numbering on send, cancelling, converting an accepted
quote, status following the payments ledger, overdue marking and the PDF."""

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from shared_apps.errors import Conflict, InvalidTransition
from shared_apps.tenants.models import Tenant
from tenant_apps.invoices import queries
from tenant_apps.invoices.documents import (
    ItemInput,
    apply_totals,
    build_item_rows,
    check_item_limits,
    delete_draft,
    document_currency,
    edit_draft,
    editable_fields,
    items_of,
    pdf_document,
    price_items,
    require_customer,
    require_deletable,
    require_editable,
    require_items,
    stored_document_pdf,
)
from tenant_apps.invoices.models import DocumentType, Invoice, InvoiceItem
from tenant_apps.invoices.numbering import assign_document_number
from tenant_apps.invoices.pdf import PdfDocument
from tenant_apps.quotes import queries as quote_queries
from tenant_apps.quotes.models import Quote
from tenant_apps.sms import notifications

Status = Invoice.Status

# What a user may ask for. PARTIALLY_PAID and PAID follow the payments ledger and OVERDUE
# the clock (`mark_overdue_invoices`); nobody declares money received by changing a status.
# An invoice with money on it is refunded before it can be cancelled.
INVOICE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.DRAFT: (Status.SENT,),
    Status.SENT: (Status.CANCELLED,),
    Status.OVERDUE: (Status.CANCELLED,),
    Status.PARTIALLY_PAID: (),
    Status.PAID: (),
    Status.CANCELLED: (),
}
# Invoices that accept payments (and whose balance decides their status).
PAYABLE_STATUSES = frozenset({Status.SENT, Status.PARTIALLY_PAID, Status.OVERDUE})
# Refunds may also reopen a paid invoice.
REFUNDABLE_STATUSES = PAYABLE_STATUSES | {Status.PAID}

EDITABLE_FIELDS = editable_fields(date_field="due_date")


def default_due_date(*, tenant: Tenant, now: datetime) -> date:
    """Today plus the tenant's payment terms, in the tenant's zone."""
    return tenant.local_date(now) + timedelta(days=tenant.payment_terms_days)


def create_invoice(
    *,
    tenant: Tenant,
    customer_id: int,
    items: Sequence[ItemInput],
    currency: str | None = None,
    due_date: date | None = None,
    document_discount: int = 0,
    notes: str = "",
    created_by: int | None = None,
    now: datetime | None = None,
) -> Invoice:
    """A DRAFT invoice (no number yet). `due_date` defaults from the tenant's payment terms."""
    now = now or timezone.now()
    check_item_limits(items)
    currency = document_currency(currency, tenant=tenant)
    totals = price_items(items=items, currency=currency, document_discount=document_discount)
    with transaction.atomic():
        customer = require_customer(customer_id=customer_id)
        invoice = Invoice(
            customer=customer,
            currency=currency,
            document_discount=document_discount,
            notes=notes,
            due_date=due_date or default_due_date(tenant=tenant, now=now),
            created_by=created_by,
        )
        apply_totals(invoice, totals)
        invoice.save()
        InvoiceItem.objects.bulk_create(
            build_item_rows(model=InvoiceItem, parent={"invoice": invoice}, items=items, totals=totals)
        )
    return invoice


def update_invoice(*, tenant: Tenant, invoice_id: int, version: int, changes: Mapping[str, Any]) -> Invoice:
    """Edit a DRAFT invoice seen at `version`. `changes` holds any of EDITABLE_FIELDS; `items`
    replaces all line items. Totals are recomputed whenever money inputs change."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    with transaction.atomic():
        invoice = queries.get_invoice_for_update(invoice_id=invoice_id)
        require_editable(invoice, version=version, draft_status=Status.DRAFT)
        edit_draft(
            invoice,
            tenant=tenant,
            changes=changes,
            date_field="due_date",
            item_model=InvoiceItem,
            parent_field="invoice",
        )
    return invoice


def change_invoice_status(*, tenant: Tenant, invoice_id: int, status: str, now: datetime | None = None) -> Invoice:
    """Move an invoice along INVOICE_TRANSITIONS. Sending assigns its number in this
    transaction; an invoice with nothing to pay (total 0) is PAID as soon as it is sent."""
    now = now or timezone.now()
    with transaction.atomic():
        invoice = queries.get_invoice_for_update(invoice_id=invoice_id)
        allowed = INVOICE_TRANSITIONS[invoice.status]
        if status not in allowed:
            raise InvalidTransition(current=invoice.status, requested=status, allowed=list(allowed))
        if status == Status.SENT:
            require_items(list(invoice.items.all()))
            year = tenant.local_date(now).year
            invoice.number = assign_document_number(
                document_type=DocumentType.INVOICE, year=year, prefix=tenant.invoice_prefix
            )
            invoice.issued_at = now
            status = Status.PAID if invoice.total == 0 else Status.SENT
        if status == Status.CANCELLED and invoice.amount_paid:
            raise Conflict(
                "Refund the payments on this invoice before cancelling it.",
                code="invoice_has_payments",
                details=[{"amount_paid": invoice.amount_paid}],
            )
        invoice.status = status
        invoice.version += 1
        invoice.save(update_fields=["status", "number", "issued_at", "version", "updated_at"])
        if invoice.issued_at == now:  # issued by this call (a total-0 invoice is PAID at once)
            notifications.document_sent(tenant=tenant, document_type=DocumentType.INVOICE, document=invoice, now=now)
    return invoice


def delete_invoice(*, invoice_id: int) -> None:
    """Delete a DRAFT invoice; a numbered one is kept (cancel it instead)."""
    with transaction.atomic():
        invoice = queries.get_invoice_for_update(invoice_id=invoice_id)
        require_deletable(invoice, draft_status=Status.DRAFT, instead="cancel it instead")
        delete_draft(invoice, document_type=DocumentType.INVOICE)


def convert_quote_to_invoice(
    *, tenant: Tenant, quote_id: int, created_by: int | None = None, now: datetime | None = None
) -> Invoice:
    """The one DRAFT invoice of an ACCEPTED quote: customer, currency, items, discount and
    notes copied, linked both ways. Runs under the quote's row lock, so of two concurrent
    calls one converts and the other answers 409 `already_converted` with the invoice id
    (`Invoice.quote` is also unique, should anything bypass this function)."""
    now = now or timezone.now()
    with transaction.atomic():
        quote = quote_queries.get_quote_for_update(quote_id=quote_id)
        existing = queries.invoice_id_for_quote(quote_id=quote.pk)
        if existing is not None:
            raise Conflict(
                "This quote was already converted.", code="already_converted", details=[{"invoice_id": existing}]
            )
        if quote.status != Quote.Status.ACCEPTED:
            raise Conflict(
                f"Only an accepted quote can be converted; this one is {quote.status}.",
                code="quote_not_accepted",
                details=[{"status": quote.status}],
            )
        items = items_of(list(quote.items.all()))
        totals = price_items(items=items, currency=quote.currency, document_discount=quote.document_discount)
        invoice = Invoice(
            customer=quote.customer,
            currency=quote.currency,
            document_discount=quote.document_discount,
            notes=quote.notes,
            due_date=default_due_date(tenant=tenant, now=now),
            quote=quote,
            created_by=created_by,
        )
        apply_totals(invoice, totals)
        invoice.save()
        InvoiceItem.objects.bulk_create(
            build_item_rows(model=InvoiceItem, parent={"invoice": invoice}, items=items, totals=totals)
        )
    return invoice


def apply_ledger_entry(*, invoice: Invoice, paid_delta: int) -> None:
    """Move `invoice.amount_paid` by `paid_delta` (a payment is positive, a refund negative)
    and let the status follow the balance: nothing paid -> SENT (the clock may make it
    OVERDUE again), part -> PARTIALLY_PAID, all -> PAID. The caller holds the invoice's row
    lock and has checked the amount fits; the row's check constraint backs that up."""
    invoice.amount_paid += paid_delta
    if invoice.amount_paid == 0:
        invoice.status = Status.SENT
    elif invoice.amount_paid >= invoice.total:
        invoice.status = Status.PAID
    else:
        invoice.status = Status.PARTIALLY_PAID
    invoice.version += 1
    invoice.save(update_fields=["amount_paid", "status", "version", "updated_at"])


def mark_overdue_invoices(*, tenant: Tenant, now: datetime) -> int:
    """Mark OVERDUE every SENT or PARTIALLY_PAID invoice of `tenant` (the current schema) whose
    `due_date` has ended in the tenant's zone. Returns how many changed. One UPDATE:
    a concurrent payment holds the row lock and the status is re-checked once it commits."""
    today = tenant.local_date(now)
    return Invoice.objects.filter(status__in=(Status.SENT, Status.PARTIALLY_PAID), due_date__lt=today).update(
        status=Status.OVERDUE, version=F("version") + 1, updated_at=now
    )


def render_invoice_pdf(*, tenant: Tenant, invoice_id: int) -> bytes:
    """The invoice as a PDF (stored once per version once it is numbered)."""
    invoice = queries.get_invoice(invoice_id=invoice_id)

    def describe(document: Invoice) -> PdfDocument:
        return pdf_document(
            document,
            tenant=tenant,
            kind="Invoice",
            due_date=document.due_date,
            amount_paid=document.amount_paid,
            amount_due=document.amount_due,
        )

    return stored_document_pdf(
        document_type=DocumentType.INVOICE,
        document=invoice,
        is_draft=invoice.status == Status.DRAFT,
        lock=lambda: queries.get_invoice_for_update(invoice_id=invoice_id),
        describe=describe,
    )
