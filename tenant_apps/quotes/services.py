"""The rules for quotes: drafting, numbering on send, decisions, expiry and the PDF.

Converting an accepted quote lives with invoices (`invoices.services.convert_quote_to_invoice`)."""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Unpack

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_ipv46_address
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from shared_apps.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
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


@dataclass(frozen=True, kw_only=True)
class CustomerAnswer:
    """A customer's answer given through their hub link: the name they typed and where from."""

    name: str
    ip: str | None
    user_agent: str
    reason: str = ""


MAX_ANSWER_NAME = 200
MAX_DECLINE_REASON = 2000


def _checked_answer(answer: CustomerAnswer, *, accepting: bool) -> CustomerAnswer:
    name, reason = answer.name.strip(), answer.reason.strip()
    if not 1 <= len(name) <= MAX_ANSWER_NAME:
        message = f"Type your full name (1 to {MAX_ANSWER_NAME} characters)."
        raise ValidationFailed(message, details=[{"field": "name", "message": message}])
    if len(reason) > MAX_DECLINE_REASON:
        message = f"At most {MAX_DECLINE_REASON} characters."
        raise ValidationFailed(message, details=[{"field": "reason", "message": message}])
    ip = answer.ip
    try:
        validate_ipv46_address(ip or "")
    except DjangoValidationError:
        ip = None
    return CustomerAnswer(name=name, ip=ip, user_agent=answer.user_agent[:500], reason="" if accepting else reason)


def choose_quote_options(
    *,
    tenant: Tenant,
    quote_id: int,
    customer_id: int,
    selected_item_ids: Collection[int],
    now: datetime | None = None,
) -> Quote:
    """The customer ticks the optional items they want on their SENT quote (all others are
    left out): the totals are recomputed by the same rules as every document's, and the new
    version emits `quote.options_chosen`. Another customer's quote is 404; an answered or
    expired one 409."""
    now = now or timezone.now()
    with transaction.atomic():
        quote = queries.get_quote_for_update(quote_id=quote_id)
        if quote.customer_id != customer_id or quote.status == Status.DRAFT:
            raise NotFound("Quote not found.")
        if quote.status != Status.SENT or quote.valid_until < tenant.local_date(now):
            raise Conflict("This quote can no longer be changed.", code="quote_not_open")
        _choose_options(quote, selected_item_ids=selected_item_ids, now=now)
    return quote


def _choose_options(quote: Quote, *, selected_item_ids: Collection[int], now: datetime) -> None:
    if billing.choose_optional_items(quote, selected_ids=selected_item_ids):
        quote.version += 1
        quote.save(update_fields=["subtotal", "discount_total", "tax_total", "total", "version", "updated_at"])
        chosen = sorted(quote.items.filter(optional=True, selected=True).values_list("pk", flat=True))
        emit("quote.options_chosen", now=now, selected_item_ids=chosen, **quote_event_payload(quote))


def answer_quote(
    *,
    tenant: Tenant,
    quote_id: int,
    customer_id: int,
    accept: bool,
    answer: CustomerAnswer,
    selected_item_ids: Collection[int] | None = None,
    now: datetime | None = None,
) -> Quote:
    """The customer accepts or declines their SENT quote through their hub link: the typed
    name, time, address and browser are kept on the quote (printed on its PDF, shown on the
    timeline); a decline may give a reason. Accepting with `selected_item_ids` takes those
    optional items (`choose_quote_options`) in the same transaction. Another customer's quote
    is not found (404); an answered one is 409, an expired one 409 `quote_expired`, as for staff."""
    status = Status.ACCEPTED if accept else Status.REJECTED
    checked = _checked_answer(answer, accepting=accept)
    now = now or timezone.now()
    if not accept or selected_item_ids is None:
        return change_quote_status(
            tenant=tenant, quote_id=quote_id, status=status, now=now, customer_id=customer_id, answer=checked
        )
    # The choice and the answer stand or fall together; an expired quote is refused by the
    # choice already, so the accept below never has an expiry to keep.
    with transaction.atomic():
        choose_quote_options(
            tenant=tenant, quote_id=quote_id, customer_id=customer_id, selected_item_ids=selected_item_ids, now=now
        )
        return change_quote_status(
            tenant=tenant, quote_id=quote_id, status=status, now=now, customer_id=customer_id, answer=checked
        )


def change_quote_status(
    *,
    tenant: Tenant,
    quote_id: int,
    status: str,
    now: datetime | None = None,
    customer_id: int | None = None,
    answer: CustomerAnswer | None = None,
) -> Quote:
    """Move a quote along QUOTE_TRANSITIONS. Sending assigns its number in this transaction.
    Accepting after the end of `valid_until` (tenant's zone) expires the quote instead and
    answers 409 `quote_expired`. With `customer_id`, only that customer's quote moves (404
    otherwise); `answer` records a customer's own decision (`answer_quote`)."""
    now = now or timezone.now()
    today = tenant.local_date(now)
    with transaction.atomic():
        quote = queries.get_quote_for_update(quote_id=quote_id)
        if customer_id is not None and (quote.customer_id != customer_id or quote.status == Status.DRAFT):
            raise NotFound("Quote not found.")
        allowed = QUOTE_TRANSITIONS[quote.status]
        if status not in allowed:
            raise InvalidTransition(current=quote.status, requested=status, allowed=list(allowed))
        expired = status == Status.ACCEPTED and quote.valid_until < today
        if status == Status.SENT:
            _prepare_sending(quote, tenant=tenant, now=now, today=today)
        if status in (Status.ACCEPTED, Status.REJECTED):
            quote.decided_at = now
        if answer is not None and not expired:
            quote.decided_by_name, quote.decided_from_ip = answer.name, answer.ip
            quote.decided_user_agent, quote.decline_reason = answer.user_agent, answer.reason
        quote.status = Status.EXPIRED if expired else status
        quote.version += 1
        quote.save(
            update_fields=[
                "status",
                "number",
                "issued_at",
                "decided_at",
                "decided_by_name",
                "decided_from_ip",
                "decided_user_agent",
                "decline_reason",
                "version",
                "updated_at",
            ]
        )
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
