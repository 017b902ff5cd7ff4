"""The rules for quotes: drafting, numbering on send, decisions, expiry and the PDF.

Converting an accepted quote lives with invoices (`invoices.services.convert_quote_to_invoice`)."""

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, Unpack

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from shared_apps.errors import Conflict, InvalidTransition, ValidationFailed
from shared_apps.events.services import emit
from shared_apps.tenants.models import Tenant
from tenant_apps.billing import services as billing
from tenant_apps.billing.guards import require_items
from tenant_apps.quotes import queries
from tenant_apps.quotes.models import Quote, QuoteSettings

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


def create_quote(
    *,
    tenant: Tenant,
    valid_until: date | None = None,
    now: datetime | None = None,
    **fields: Unpack[billing.DraftFields],
) -> Quote:
    """A DRAFT quote (no number yet). `valid_until` defaults to today plus the tenant's quote
    validity, in the tenant's zone; currency to the tenant's."""
    if valid_until is None:
        today = tenant.local_date(now or timezone.now())
        valid_until = today + timedelta(days=QuoteSettings.load().quote_validity_days)
    return billing.create_draft(Quote, tenant=tenant, valid_until=valid_until, **fields)


def update_quote(*, tenant: Tenant, quote_id: int, version: int, changes: Mapping[str, Any]) -> Quote:
    """Edit a DRAFT quote seen at `version` (`billing.services.update_draft`)."""
    return billing.update_draft(Quote, tenant=tenant, document_id=quote_id, version=version, changes=changes)


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
        if quote.status in QUOTE_EVENTS:
            emit(QUOTE_EVENTS[quote.status], now=now, **quote_event_payload(quote))
    if expired:
        raise Conflict(
            "This quote expired at the end of its valid-until day.",
            code="quote_expired",
            details=[{"valid_until": quote.valid_until.isoformat(), "status": quote.status}],
        )
    return quote


# The event each status a quote moves to emits.
QUOTE_EVENTS: dict[str, str] = {
    Status.SENT: "quote.sent",
    Status.ACCEPTED: "quote.accepted",
    Status.REJECTED: "quote.declined",
    Status.EXPIRED: "quote.expired",
}


def quote_event_payload(quote: Quote) -> dict[str, Any]:
    return {
        "quote_id": quote.pk,
        "customer_id": quote.customer_id,
        "number": quote.number,
        "version": quote.version,
        "currency": quote.currency,
        "total": quote.total,
    }


def _prepare_sending(quote: Quote, *, tenant: Tenant, now: datetime, today: date) -> None:
    require_items(list(quote.items.all()))
    if quote.valid_until < today:
        message = "valid_until is in the past; set a later date before sending."
        raise ValidationFailed(message, details=[{"field": "valid_until", "message": message}])
    billing.number_document(quote, tenant=tenant, now=now)


def delete_quote(*, quote_id: int) -> None:
    """Delete a DRAFT quote; a numbered one is kept (reject it instead)."""
    billing.delete_draft(Quote, document_id=quote_id)


def expire_quotes(*, tenant: Tenant, now: datetime) -> int:
    """Expire every SENT quote of `tenant` (the current schema) whose `valid_until` day has
    ended in the tenant's zone. Returns how many expired. One UPDATE: a concurrent accept
    holds the row lock and the status is re-checked once it commits."""
    today = tenant.local_date(now)
    with transaction.atomic():
        expiring = list(Quote.objects.select_for_update().filter(status=Status.SENT, valid_until__lt=today))
        Quote.objects.filter(pk__in=[quote.pk for quote in expiring]).update(
            status=Status.EXPIRED, version=F("version") + 1, updated_at=now
        )
        for quote in expiring:
            quote.status, quote.version = Status.EXPIRED, quote.version + 1
            emit("quote.expired", now=now, **quote_event_payload(quote))
    return len(expiring)


def render_quote_pdf(*, tenant: Tenant, quote_id: int) -> bytes:
    """The quote as a PDF (stored once per version once it is numbered)."""
    return billing.render_pdf(Quote, tenant=tenant, document_id=quote_id)
