"""What a customer's hub shows: their upcoming visits, the quotes waiting for their answer,
the invoices they owe, and their past documents; and the one document of theirs a page asks
for. Every read is scoped to the link's customer; drafts are never shown."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from shared_apps.errors import NotFound
from tenant_apps.appointments.models import Appointment
from tenant_apps.billing.pdf import PdfDocument
from tenant_apps.billing.pdfs import pdf_document, stored_document_pdf
from tenant_apps.invoices.models import Invoice
from tenant_apps.portal.services import PortalVisit
from tenant_apps.quotes.models import Quote

# A hub lists this many of each kind at most (newest first); older ones are the business's to send.
HUB_LIMIT = 50
# Ids in a URL beyond PostgreSQL's bigint name no row (and must not reach the database).
_MAX_ID = 2**63 - 1
PAST_QUOTE_STATUSES = (Quote.Status.ACCEPTED, Quote.Status.REJECTED, Quote.Status.EXPIRED)
PAST_INVOICE_STATUSES = (Invoice.Status.PAID, Invoice.Status.CANCELLED)


@dataclass(frozen=True)
class Hub:
    upcoming_visits: list[Appointment]
    quotes_waiting: list[Quote]
    unpaid_invoices: list[Invoice]
    past_quotes: list[Quote]
    past_invoices: list[Invoice]


def customer_quotes(visit: PortalVisit) -> QuerySet[Quote]:
    return Quote.objects.filter(customer_id=visit.customer.pk).exclude(status=Quote.Status.DRAFT)


def customer_invoices(visit: PortalVisit) -> QuerySet[Invoice]:
    return Invoice.objects.filter(customer_id=visit.customer.pk).exclude(status=Invoice.Status.DRAFT)


def customer_hub(*, visit: PortalVisit, now: datetime) -> Hub:
    """The hub in five queries. A sent quote past its last day is shown with the past ones
    even before the expiry job marks it."""
    today = visit.tenant.local_date(now)
    quotes = customer_quotes(visit).order_by("-issued_at", "-id")
    invoices = customer_invoices(visit).order_by("-issued_at", "-id")
    return Hub(
        upcoming_visits=list(
            Appointment.objects.filter(
                customer_id=visit.customer.pk, status__in=Appointment.ACTIVE_STATUSES, ends_at__gt=now
            ).order_by("starts_at", "id")[:HUB_LIMIT]
        ),
        quotes_waiting=list(quotes.filter(status=Quote.Status.SENT, valid_until__gte=today)[:HUB_LIMIT]),
        unpaid_invoices=list(invoices.filter(status__in=Invoice.PAYABLE_STATUSES)[:HUB_LIMIT]),
        past_quotes=list(
            quotes.filter(Q(status__in=PAST_QUOTE_STATUSES) | Q(status=Quote.Status.SENT, valid_until__lt=today))[
                :HUB_LIMIT
            ]
        ),
        past_invoices=list(invoices.filter(status__in=PAST_INVOICE_STATUSES)[:HUB_LIMIT]),
    )


def get_customer_quote(*, visit: PortalVisit, quote_id: int) -> Quote:
    """One of the customer's sent quotes with its items; another customer's (or a draft) is
    not found."""
    if not 0 < quote_id <= _MAX_ID:
        raise NotFound("Quote not found.")
    quote = (
        customer_quotes(visit)
        .select_related("customer", "service_property")
        .prefetch_related("items")
        .filter(pk=quote_id)
        .first()
    )
    if quote is None:
        raise NotFound("Quote not found.")
    return quote


def get_customer_invoice(*, visit: PortalVisit, invoice_id: int) -> Invoice:
    """One of the customer's issued invoices with its items; another customer's (or a draft)
    is not found."""
    if not 0 < invoice_id <= _MAX_ID:
        raise NotFound("Invoice not found.")
    invoice = (
        customer_invoices(visit)
        .select_related("customer", "service_property")
        .prefetch_related("items")
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise NotFound("Invoice not found.")
    return invoice


def awaits_answer(*, visit: PortalVisit, quote: Quote, now: datetime) -> bool:
    """Whether the customer may still accept or decline the quote (sent, within its validity)."""
    return quote.status == Quote.Status.SENT and quote.valid_until >= visit.tenant.local_date(now)


def printed(*, visit: PortalVisit, document: Quote | Invoice) -> PdfDocument:
    """What the document's PDF prints, for its page: the page shows the same."""
    return pdf_document(document, tenant=visit.tenant)


def render_customer_pdf(*, visit: PortalVisit, document: Quote | Invoice) -> bytes:
    """The document's PDF (the stored one while it is current)."""
    return stored_document_pdf(document, tenant=visit.tenant)
