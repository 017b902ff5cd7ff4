"""The rules for invoices: drafting, numbering on send, cancelling, converting an accepted
quote, status following the payments ledger, overdue marking and the PDF."""

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, Unpack

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from shared_apps.errors import Conflict, InvalidTransition, NotFound
from shared_apps.events.services import emit
from shared_apps.tenants.models import Tenant
from tenant_apps.billing import services as billing
from tenant_apps.billing.guards import require_items
from tenant_apps.billing.items import included_items, items_of, price_items
from tenant_apps.invoices import queries
from tenant_apps.invoices.models import Invoice, InvoiceSettings
from tenant_apps.quotes import queries as quote_queries
from tenant_apps.quotes.models import Quote

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
# Refunds go to payable invoices (Invoice.PAYABLE_STATUSES) and may also reopen a paid one.
REFUNDABLE_STATUSES = Invoice.PAYABLE_STATUSES | {Status.PAID}


def default_due_date(*, tenant: Tenant, now: datetime) -> date:
    """Today plus the tenant's payment terms, in the tenant's zone."""
    return tenant.local_date(now) + timedelta(days=InvoiceSettings.load().payment_terms_days)


def create_invoice(
    *,
    tenant: Tenant,
    due_date: date | None = None,
    now: datetime | None = None,
    **fields: Unpack[billing.DraftFields],
) -> Invoice:
    """A DRAFT invoice (no number yet). `due_date` defaults from the tenant's payment terms."""
    due_date = due_date or default_due_date(tenant=tenant, now=now or timezone.now())
    return billing.create_draft(Invoice, tenant=tenant, due_date=due_date, **fields)


def update_invoice(*, tenant: Tenant, invoice_id: int, version: int, changes: Mapping[str, Any]) -> Invoice:
    """Edit a DRAFT invoice seen at `version` (`billing.services.update_draft`)."""
    return billing.update_draft(Invoice, tenant=tenant, document_id=invoice_id, version=version, changes=changes)


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
            billing.number_document(invoice, tenant=tenant, now=now)
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
            emit("invoice.sent", now=now, **invoice_event_payload(invoice))
        if status in (Status.PAID, Status.CANCELLED):
            emit(
                "invoice.paid" if status == Status.PAID else "invoice.cancelled",
                now=now,
                **invoice_event_payload(invoice),
            )
    return invoice


def invoice_event_payload(invoice: Invoice) -> dict[str, Any]:
    return {
        "invoice_id": invoice.pk,
        "customer_id": invoice.customer_id,
        "number": invoice.number,
        "version": invoice.version,
        "currency": invoice.currency,
        "total": invoice.total,
        "amount_due": invoice.amount_due,
    }


def delete_invoice(*, invoice_id: int) -> None:
    """Delete a DRAFT invoice; a numbered one is kept (cancel it instead)."""
    billing.delete_draft(Invoice, document_id=invoice_id)


def convert_quote_to_invoice(
    *,
    tenant: Tenant,
    quote_id: int,
    created_by: int | None = None,
    notes: str | None = None,
    now: datetime | None = None,
) -> Invoice:
    """The one DRAFT invoice of an ACCEPTED quote: customer, property, currency, items,
    discount and notes copied, linked both ways. The quote's notes (scope, terms the customer accepted)
    carry over unless the converter gives the invoice its own `notes` ("" for none). Runs
    under the quote's row lock, so of two concurrent calls one converts and the other answers
    409 `already_converted` with the invoice id (`Invoice.quote` is also unique, should
    anything bypass this function)."""
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
        items = included_items(items_of(list(quote.items.all())))
        totals = price_items(items=items, currency=quote.currency, document_discount=quote.document_discount)
        invoice = Invoice(
            customer=quote.customer,
            service_property_id=quote.service_property_id,
            currency=quote.currency,
            document_discount=quote.document_discount,
            notes=quote.notes if notes is None else notes,
            due_date=default_due_date(tenant=tenant, now=now),
            quote=quote,
            created_by=created_by,
        )
        billing.save_with_items(invoice, items=items, totals=totals)
    return invoice


def lock_invoice(*, invoice_id: int) -> Invoice:
    """The invoice locked until the caller's transaction ends, for the services that move its
    balance (payments)."""
    return queries.get_invoice_for_update(invoice_id=invoice_id)


def require_invoice(*, invoice_id: int) -> None:
    """404 unless the invoice exists in the current tenant's schema."""
    if not queries.invoice_exists(invoice_id=invoice_id):
        raise NotFound("Invoice not found.")


def apply_ledger_entry(*, invoice: Invoice, paid_delta: int) -> None:
    """Move `invoice.amount_paid` by `paid_delta` (a payment is positive, a refund negative)
    and let the status follow the balance: nothing paid -> SENT (the clock may make it
    OVERDUE again), part -> PARTIALLY_PAID, all -> PAID. The caller holds the invoice's row
    lock and has checked the amount fits; the row's check constraint backs that up."""
    was_paid = invoice.status == Status.PAID
    invoice.amount_paid += paid_delta
    if invoice.amount_paid == 0:
        invoice.status = Status.SENT
    elif invoice.amount_paid >= invoice.total:
        invoice.status = Status.PAID
    else:
        invoice.status = Status.PARTIALLY_PAID
    invoice.version += 1
    invoice.save(update_fields=["amount_paid", "status", "version", "updated_at"])
    if invoice.status == Status.PAID and not was_paid:
        emit("invoice.paid", **invoice_event_payload(invoice))


def mark_overdue_invoices(*, tenant: Tenant, now: datetime) -> int:
    """Mark OVERDUE every SENT or PARTIALLY_PAID invoice of `tenant` (the current schema) whose
    `due_date` has ended in the tenant's zone. Returns how many changed. One UPDATE:
    a concurrent payment holds the row lock and the status is re-checked once it commits."""
    today = tenant.local_date(now)
    with transaction.atomic():
        overdue = list(
            Invoice.objects.select_for_update().filter(
                status__in=(Status.SENT, Status.PARTIALLY_PAID), due_date__lt=today
            )
        )
        Invoice.objects.filter(pk__in=[invoice.pk for invoice in overdue]).update(
            status=Status.OVERDUE, version=F("version") + 1, updated_at=now
        )
        for invoice in overdue:
            invoice.status, invoice.version = Status.OVERDUE, invoice.version + 1
            emit("invoice.overdue", now=now, due_date=invoice.due_date, **invoice_event_payload(invoice))
    return len(overdue)


def render_invoice_pdf(*, tenant: Tenant, invoice_id: int) -> bytes:
    """The invoice as a PDF (stored once per version once it is numbered)."""
    return billing.render_pdf(Invoice, tenant=tenant, document_id=invoice_id)
