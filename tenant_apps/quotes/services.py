"""The rules for quotes: drafting, numbering on send, decisions, expiry and the PDF.

Converting an accepted quote lives with invoices (`invoices.services.convert_quote_to_invoice`)."""

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from shared_apps.errors import Conflict, InvalidTransition, ValidationFailed
from shared_apps.tenants.models import Tenant
from tenant_apps.invoices.documents import (
    ItemInput,
    apply_totals,
    build_item_rows,
    check_item_limits,
    delete_draft,
    document_currency,
    edit_draft,
    editable_fields,
    pdf_document,
    price_items,
    require_customer,
    require_deletable,
    require_editable,
    require_items,
    stored_document_pdf,
)
from tenant_apps.invoices.models import DocumentType
from tenant_apps.invoices.numbering import assign_document_number
from tenant_apps.invoices.pdf import PdfDocument
from tenant_apps.quotes import queries
from tenant_apps.quotes.models import Quote, QuoteItem
from tenant_apps.sms import notifications

Status = Quote.Status

# What a user may ask for. EXPIRED is only ever set by the clock (`expire_quotes`, or an
# accept that arrives too late); ACCEPTED and REJECTED are final.
QUOTE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.DRAFT: (Status.SENT,),
    Status.SENT: (Status.ACCEPTED, Status.REJECTED),
    Status.ACCEPTED: (),
    Status.REJECTED: (),
    Status.EXPIRED: (),
}

EDITABLE_FIELDS = editable_fields(date_field="valid_until")


def create_quote(
    *,
    tenant: Tenant,
    customer_id: int,
    items: Sequence[ItemInput],
    currency: str | None = None,
    valid_until: date | None = None,
    document_discount: int = 0,
    notes: str = "",
    created_by: int | None = None,
    now: datetime | None = None,
) -> Quote:
    """A DRAFT quote (no number yet). `valid_until` defaults to today plus the tenant's quote
    validity, in the tenant's zone; currency to the tenant's."""
    now = now or timezone.now()
    check_item_limits(items)
    currency = document_currency(currency, tenant=tenant)
    totals = price_items(items=items, currency=currency, document_discount=document_discount)
    if valid_until is None:
        valid_until = tenant.local_date(now) + timedelta(days=tenant.quote_validity_days)
    with transaction.atomic():
        customer = require_customer(customer_id=customer_id)
        quote = Quote(
            customer=customer,
            currency=currency,
            document_discount=document_discount,
            notes=notes,
            valid_until=valid_until,
            created_by=created_by,
        )
        apply_totals(quote, totals)
        quote.save()
        QuoteItem.objects.bulk_create(
            build_item_rows(model=QuoteItem, parent={"quote": quote}, items=items, totals=totals)
        )
    return quote


def update_quote(*, tenant: Tenant, quote_id: int, version: int, changes: Mapping[str, Any]) -> Quote:
    """Edit a DRAFT quote seen at `version`. `changes` holds any of EDITABLE_FIELDS; `items`
    replaces all line items. Totals are recomputed whenever money inputs change."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    with transaction.atomic():
        quote = queries.get_quote_for_update(quote_id=quote_id)
        require_editable(quote, version=version, draft_status=Status.DRAFT)
        edit_draft(
            quote, tenant=tenant, changes=changes, date_field="valid_until", item_model=QuoteItem, parent_field="quote"
        )
    return quote


def change_quote_status(*, tenant: Tenant, quote_id: int, status: str, now: datetime | None = None) -> Quote:
    """Move a quote along QUOTE_TRANSITIONS. Sending assigns its number in this transaction.
    Accepting after the end of `valid_until` (tenant's zone) expires the quote instead and
    answers 409 `quote_expired`."""
    now = now or timezone.now()
    today = tenant.local_date(now)
    with transaction.atomic():
        quote = queries.get_quote_for_update(quote_id=quote_id)
        allowed = QUOTE_TRANSITIONS[quote.status]
        if status not in allowed:
            raise InvalidTransition(current=quote.status, requested=status, allowed=list(allowed))
        expired = status == Status.ACCEPTED and quote.valid_until < today
        if status == Status.SENT:
            _prepare_sending(quote, tenant=tenant, now=now, today=today)
        if status in (Status.ACCEPTED, Status.REJECTED):
            quote.decided_at = now
        quote.status = Status.EXPIRED if expired else status
        quote.version += 1
        quote.save(update_fields=["status", "number", "issued_at", "decided_at", "version", "updated_at"])
        if status == Status.SENT:
            notifications.document_sent(tenant=tenant, document_type=DocumentType.QUOTE, document=quote, now=now)
    if expired:
        raise Conflict(
            "This quote expired at the end of its valid-until day.",
            code="quote_expired",
            details=[{"valid_until": quote.valid_until.isoformat(), "status": quote.status}],
        )
    return quote


def _prepare_sending(quote: Quote, *, tenant: Tenant, now: datetime, today: date) -> None:
    require_items(list(quote.items.all()))
    if quote.valid_until < today:
        message = "valid_until is in the past; set a later date before sending."
        raise ValidationFailed(message, details=[{"field": "valid_until", "message": message}])
    quote.number = assign_document_number(document_type=DocumentType.QUOTE, year=today.year, prefix=tenant.quote_prefix)
    quote.issued_at = now


def delete_quote(*, quote_id: int) -> None:
    """Delete a DRAFT quote; a numbered one is kept (reject it instead)."""
    with transaction.atomic():
        quote = queries.get_quote_for_update(quote_id=quote_id)
        require_deletable(quote, draft_status=Status.DRAFT, instead="reject it instead")
        delete_draft(quote, document_type=DocumentType.QUOTE)


def expire_quotes(*, tenant: Tenant, now: datetime) -> int:
    """Expire every SENT quote of `tenant` (the current schema) whose `valid_until` day has
    ended in the tenant's zone. Returns how many expired. One UPDATE: a concurrent accept
    holds the row lock and the status is re-checked once it commits."""
    today = tenant.local_date(now)
    return Quote.objects.filter(status=Status.SENT, valid_until__lt=today).update(
        status=Status.EXPIRED, version=F("version") + 1, updated_at=now
    )


def render_quote_pdf(*, tenant: Tenant, quote_id: int) -> bytes:
    """The quote as a PDF (stored once per version once it is numbered)."""
    quote = queries.get_quote(quote_id=quote_id)

    def describe(document: Quote) -> PdfDocument:
        return pdf_document(document, tenant=tenant, kind="Quote", valid_until=document.valid_until)

    return stored_document_pdf(
        document_type=DocumentType.QUOTE,
        document=quote,
        is_draft=quote.status == Status.DRAFT,
        lock=lambda: queries.get_quote_for_update(quote_id=quote_id),
        describe=describe,
    )
