"""Customer links (staff) and the customer's hub as JSON (public: the link's token is the
credential, on the business's own host), for front ends that draw their own pages. The same
services serve the server-rendered pages (api/portal_pages.py)."""

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from django.utils import timezone
from ninja import Path, Query, Router, Schema
from pydantic import Field

from api.auth import ApiRequest, member
from api.documents import PDF_RESPONSE, decimal_text, pdf_response
from api.lists import paginate
from api.ratelimit import client_ip
from api.schemas import RowId, StorableSchema, StrictSchema, enum_of, example
from shared_apps.events.actors import set_actor
from tenant_apps.appointments.models import Appointment
from tenant_apps.invoices.models import Invoice
from tenant_apps.portal import hub, queries, services
from tenant_apps.portal.models import CustomerLink
from tenant_apps.portal.services import PortalVisit
from tenant_apps.portal.theme import theme_of
from tenant_apps.quotes import services as quotes
from tenant_apps.quotes.models import Quote

router = Router(tags=["portal"])
public_router = Router(tags=["portal"])

# The token of a customer link, as the link's URL carries it (`/c/<token>`).
Token = Annotated[str, Path(description="The customer link's token (the last part of its URL).", max_length=64)]


class CustomerLinkIn(StrictSchema):
    model_config = example(customer_id=42, send_via="sms", expires_in_days=30)

    customer_id: RowId
    send_via: Annotated[str, enum_of(CustomerLink.Channel)] = Field(
        default=CustomerLink.Channel.NONE, description="Also send the link to the customer by text or email."
    )
    expires_in_days: int | None = Field(
        default=None, ge=1, le=services.MAX_LINK_DAYS, description="Days the link works; the business default if none."
    )


class CustomerLinkOut(Schema):
    id: int
    customer_id: int
    sent_via: Annotated[str, enum_of(CustomerLink.Channel)]
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by: int | None
    created_at: datetime


class IssuedCustomerLinkOut(CustomerLinkOut):
    """The link's URL is shown once, here: only a digest of its token is kept."""

    url: str


class CustomerLinkFilters(StorableSchema):
    customer_id: RowId | None = Field(default=None, description="Only this customer's links.")


@router.post("", response={201: IssuedCustomerLinkOut}, auth=member)
def create_customer_link(request: ApiRequest, payload: CustomerLinkIn):
    """Make a link to a customer's hub (quotes, invoices, visits), optionally texting or
    mailing it to them; the answer carries the URL, which is never shown again."""
    issued = services.create_customer_link(
        tenant=request.auth.tenant,
        customer_id=payload.customer_id,
        send_via=payload.send_via,
        expires_in_days=payload.expires_in_days,
        created_by=request.auth.user_id,
    )
    return 201, IssuedCustomerLinkOut(**CustomerLinkOut.from_orm(issued.link).model_dump(), url=issued.url)


@router.get("", response=list[CustomerLinkOut], auth=member)
@paginate
def list_customer_links(request: ApiRequest, filters: Query[CustomerLinkFilters]):
    """Customer links, newest first (without their URLs, which are not kept)."""
    return queries.list_customer_links(customer_id=filters.customer_id)


@router.delete("/{link_id}", response={204: None}, auth=member)
def revoke_customer_link(request: ApiRequest, link_id: RowId):
    """Withdraw a link: it stops working at once (410 for the customer)."""
    services.revoke_customer_link(link_id=link_id)
    return 204, None


# Public: the customer's side.


def open_visit(request: ApiRequest, token: str) -> PortalVisit:
    """The link's customer on this host (404 / 410 otherwise); what the route does next is
    recorded as theirs."""
    visit = services.open_customer_link(tenant=request.tenant, token=token)
    set_actor(visit.actor)
    return visit


class BusinessOut(Schema):
    name: str
    brand_color: str = Field(description="#rrggbb")
    text_on_brand_color: str = Field(description="A readable text colour on brand_color (#rrggbb).")


class PortalCustomerOut(Schema):
    id: int
    name: str


class PortalAppointmentOut(Schema):
    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    status: Annotated[str, enum_of(Appointment.Status)]


class PortalQuoteSummaryOut(Schema):
    id: int
    number: str
    status: Annotated[str, enum_of(Quote.Status)]
    currency: str
    total: int
    valid_until: date


class PortalInvoiceSummaryOut(Schema):
    id: int
    number: str
    status: Annotated[str, enum_of(Invoice.Status)]
    currency: str
    total: int
    amount_due: int
    due_date: date


class PortalHubOut(Schema):
    business: BusinessOut
    customer: PortalCustomerOut
    link_expires_at: datetime
    upcoming_visits: list[PortalAppointmentOut]
    quotes_waiting: list[PortalQuoteSummaryOut]
    unpaid_invoices: list[PortalInvoiceSummaryOut]
    past_quotes: list[PortalQuoteSummaryOut]
    past_invoices: list[PortalInvoiceSummaryOut]


def business_out(visit: PortalVisit) -> BusinessOut:
    theme = theme_of(visit.tenant)
    return BusinessOut(name=theme.business_name, brand_color=theme.color, text_on_brand_color=theme.on_color)


@public_router.get("/{token}", response=PortalHubOut, auth=None)
def get_portal_hub(request: ApiRequest, token: Token):
    """The customer's hub: upcoming visits, quotes waiting for an answer, unpaid invoices and
    past documents. Public: the token is the credential, on the business's own host only."""
    visit = open_visit(request, token)
    found = hub.customer_hub(visit=visit, now=timezone.now())
    return {
        "business": business_out(visit),
        "customer": visit.customer,
        "link_expires_at": visit.link.expires_at,
        **vars(found),
    }


# Quotes and invoices: what the PDF prints, and the customer's answer.


class PortalLineOut(Schema):
    description: str
    quantity: str
    unit_price: int
    tax_rate: str = Field(description="Percent, as a decimal string.")
    discount: int
    amount: int = Field(description="quantity x unit price (before discounts and tax), as printed.")


class PortalDocumentOut(Schema):
    """A quote or invoice as its PDF prints it (`tenant_apps.billing.pdf.PdfDocument`)."""

    id: int
    kind: str
    number: str
    status: str
    currency: str
    issue_date: date
    business_name: str
    customer_name: str
    service_address: str | None
    lines: list[PortalLineOut]
    subtotal: int
    discount_total: int
    tax_total: int
    total: int
    notes: str | None
    pdf_path: str = Field(description="The PDF on this host (JSON route).")


class PortalOptionalItemOut(Schema):
    id: int
    description: str
    quantity: str
    unit_price: int
    tax_rate: str
    total: int = Field(description="What the item adds, tax included.")
    selected: bool

    @staticmethod
    def resolve_quantity(item: Any) -> str:
        return decimal_text(item.quantity)

    @staticmethod
    def resolve_tax_rate(item: Any) -> str:
        return decimal_text(item.tax_rate)


class PortalQuoteOut(PortalDocumentOut):
    status: Annotated[str, enum_of(Quote.Status)]
    optional_items: list[PortalOptionalItemOut] = Field(
        description="Items the customer may take or leave (choose them, or send them when accepting)."
    )
    valid_until: date
    awaits_answer: bool = Field(description="Whether the customer may still accept or decline it.")
    decision: str | None = Field(description="The customer's recorded answer, as printed on the PDF.")


class PortalInvoiceOut(PortalDocumentOut):
    status: Annotated[str, enum_of(Invoice.Status)]
    due_date: date
    amount_paid: int
    amount_due: int
    pay_url: str | None = Field(
        description="Opens Stripe Checkout for the amount due; none when nothing can be paid by card."
    )


class QuoteAnswerIn(StrictSchema):
    model_config = example(name="Dana Whitfield")

    name: str = Field(min_length=1, max_length=200, description="The full name of the person answering.")


class QuoteAcceptIn(QuoteAnswerIn):
    selected_item_ids: list[RowId] | None = Field(
        default=None, max_length=100, description="The optional items taken (the others are left out); none: as shown."
    )


class QuoteOptionsIn(StrictSchema):
    model_config = example(selected_item_ids=[31])

    selected_item_ids: list[RowId] = Field(
        max_length=100, description="The optional items taken; the others are left out."
    )


class QuoteDeclineIn(QuoteAnswerIn):
    model_config = example(name="Dana Whitfield", reason="We went with a smaller job.")

    reason: str = Field(default="", max_length=2000, description="Why, if they say.")


QuoteId = Annotated[int, Path(description="A quote of the link's customer.", ge=1, le=2**63 - 1)]
InvoiceId = Annotated[int, Path(description="An invoice of the link's customer.", ge=1, le=2**63 - 1)]


def _printed(visit: PortalVisit, document: Quote | Invoice, kind: str) -> dict[str, Any]:
    doc = hub.printed(visit=visit, document=document)
    return {
        **{name: getattr(doc, name) for name in PortalDocumentOut.model_fields if hasattr(doc, name)},
        "id": document.pk,
        "number": document.number or "",
        "status": document.status,
        "lines": [
            asdict(line) | {"quantity": decimal_text(line.quantity), "tax_rate": decimal_text(line.tax_rate)}
            for line in doc.lines
        ],
        "pdf_path": f"/api/v1/portal/{visit.token}/{kind}s/{document.pk}/pdf",
        "valid_until": doc.valid_until,
        "decision": doc.decision,
        "due_date": doc.due_date,
        "amount_paid": doc.amount_paid,
        "amount_due": doc.amount_due,
        "pay_url": doc.pay_url,
    }


def _quote_out(visit: PortalVisit, quote: Quote) -> dict[str, Any]:
    return {
        **_printed(visit, quote, "quote"),
        "awaits_answer": hub.awaits_answer(visit=visit, quote=quote, now=timezone.now()),
        "optional_items": [row for row in quote.items.all() if row.optional],
    }


@public_router.get("/{token}/quotes/{quote_id}", response=PortalQuoteOut, auth=None)
def get_portal_quote(request: ApiRequest, token: Token, quote_id: QuoteId):
    """One of the customer's quotes as its PDF prints it, and whether it awaits their answer."""
    visit = open_visit(request, token)
    return _quote_out(visit, hub.get_customer_quote(visit=visit, quote_id=quote_id))


def _answer(
    request: ApiRequest,
    token: str,
    quote_id: int,
    *,
    accept: bool,
    name: str,
    reason: str = "",
    selected_item_ids: list[int] | None = None,
):
    visit = open_visit(request, token)
    quote = hub.get_customer_quote(visit=visit, quote_id=quote_id)
    answer = quotes.CustomerAnswer(
        name=name, reason=reason, ip=client_ip(request), user_agent=request.headers.get("User-Agent", "")
    )
    quotes.answer_quote(
        tenant=visit.tenant,
        quote_id=quote.pk,
        customer_id=visit.customer.pk,
        accept=accept,
        answer=answer,
        selected_item_ids=selected_item_ids,
    )
    return _quote_out(visit, hub.get_customer_quote(visit=visit, quote_id=quote_id))


@public_router.post("/{token}/quotes/{quote_id}/accept", response=PortalQuoteOut, auth=None)
def accept_portal_quote(request: ApiRequest, token: Token, quote_id: QuoteId, payload: QuoteAcceptIn):
    """Accept the quote with the typed name (and the optional items taken); the time, address
    and browser are recorded on it (PDF and timeline). 409 when it was answered or expired."""
    return _answer(
        request, token, quote_id, accept=True, name=payload.name, selected_item_ids=payload.selected_item_ids
    )


@public_router.post("/{token}/quotes/{quote_id}/options", response=PortalQuoteOut, auth=None)
def choose_portal_quote_options(request: ApiRequest, token: Token, quote_id: QuoteId, payload: QuoteOptionsIn):
    """Take exactly these optional items (the others are left out): the quote's totals are
    recomputed. 400 for an id that is not one of its optional items; 409 once answered or expired."""
    visit = open_visit(request, token)
    quote = hub.get_customer_quote(visit=visit, quote_id=quote_id)
    quotes.choose_quote_options(
        tenant=visit.tenant,
        quote_id=quote.pk,
        customer_id=visit.customer.pk,
        selected_item_ids=payload.selected_item_ids,
    )
    return _quote_out(visit, hub.get_customer_quote(visit=visit, quote_id=quote_id))


@public_router.post("/{token}/quotes/{quote_id}/decline", response=PortalQuoteOut, auth=None)
def decline_portal_quote(request: ApiRequest, token: Token, quote_id: QuoteId, payload: QuoteDeclineIn):
    """Decline the quote with the typed name and, optionally, why. 409 when it was answered or
    expired."""
    return _answer(request, token, quote_id, accept=False, name=payload.name, reason=payload.reason)


@public_router.get("/{token}/quotes/{quote_id}/pdf", auth=None, openapi_extra={"responses": {200: PDF_RESPONSE}})
def get_portal_quote_pdf(request: ApiRequest, token: Token, quote_id: QuoteId):
    """The quote's PDF."""
    visit = open_visit(request, token)
    quote = hub.get_customer_quote(visit=visit, quote_id=quote_id)
    return pdf_response(hub.render_customer_pdf(visit=visit, document=quote), filename=f"quote-{quote.number}.pdf")


@public_router.get("/{token}/invoices/{invoice_id}", response=PortalInvoiceOut, auth=None)
def get_portal_invoice(request: ApiRequest, token: Token, invoice_id: InvoiceId):
    """One of the customer's invoices as its PDF prints it, with the pay link (Stripe Checkout)
    while something is due and the business takes cards."""
    visit = open_visit(request, token)
    return _printed(visit, hub.get_customer_invoice(visit=visit, invoice_id=invoice_id), "invoice")


@public_router.get("/{token}/invoices/{invoice_id}/pdf", auth=None, openapi_extra={"responses": {200: PDF_RESPONSE}})
def get_portal_invoice_pdf(request: ApiRequest, token: Token, invoice_id: InvoiceId):
    """The invoice's PDF."""
    visit = open_visit(request, token)
    invoice = hub.get_customer_invoice(visit=visit, invoice_id=invoice_id)
    return pdf_response(
        hub.render_customer_pdf(visit=visit, document=invoice), filename=f"invoice-{invoice.number}.pdf"
    )
