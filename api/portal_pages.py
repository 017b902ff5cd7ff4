"""The customer's hub pages on the business's host (`/c/<token>/...`): server-rendered, readable
on a phone, in the business's name and colour, working without JavaScript. Every page opens
the link first (`portal_page`); a refused link, or any domain error, is a page too, with the
status api/errors.py gives that error."""

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from api import portal_requests
from api.documents import pdf_response
from api.errors import STATUS_FOR_DOMAIN_ERROR
from api.ratelimit import client_ip
from shared_apps import errors as domain
from shared_apps.events.actors import acting_as
from tenant_apps.billing.pdf import PdfDocument
from tenant_apps.invoices.models import Invoice
from tenant_apps.portal import hub, services
from tenant_apps.portal.services import PortalVisit
from tenant_apps.portal.theme import NEUTRAL, theme_of
from tenant_apps.quotes import services as quotes
from tenant_apps.quotes.models import Quote

P = ParamSpec("P")

# The pages load nothing from elsewhere and post only to themselves; the token in their URL
# goes to no other site (a Referer only to this host: with none at all, browsers send
# `Origin: null` on the pages' own forms, which CSRF checks refuse), and no cache keeps them.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "X-Robots-Tag": "noindex",
}
ERROR_TITLES = {
    400: "Please check what you entered",
    404: "Page not found",
    409: "This cannot be done now",
    410: "This link no longer works",
    429: "Please wait a moment",
    503: "Please try again",
}


def hub_path(visit: PortalVisit) -> str:
    """The hub's path on this host; the customer's other pages are below it."""
    return f"{services.PORTAL_PATH}{visit.token}"


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    visit: PortalVisit | None,
    status: int = 200,
) -> HttpResponse:
    """A customer page: the business's theme (its host's), the customer and the hub's path in
    the context, times in the business's zone."""
    tenant = visit.tenant if visit is not None else getattr(request, "tenant", None)
    base: dict[str, Any] = {"theme": theme_of(tenant) if tenant is not None else NEUTRAL}
    if visit is not None:
        base.update(customer=visit.customer, hub_url=hub_path(visit))
    if tenant is not None:
        timezone.activate(tenant.zone)
    try:
        response = render(request, template, {**base, **context}, status=status)
    finally:
        timezone.deactivate()
    for header, value in PAGE_HEADERS.items():
        response[header] = value
    return response


def error_page(request: HttpRequest, error: domain.DomainError, *, visit: PortalVisit | None = None) -> HttpResponse:
    """The error as a page; inside a working link it links back to the hub."""
    status = next((code for cls, code in STATUS_FOR_DOMAIN_ERROR if isinstance(error, cls)), 400)
    context = {"title": ERROR_TITLES.get(status, "Something went wrong"), "message": error.message}
    response = render_page(request, "portal/error.html", context, visit=visit, status=status)
    if isinstance(error, domain.RateLimited):
        response["Retry-After"] = str(error.retry_after)
    return response


def portal_page(
    view: Callable[Concatenate[HttpRequest, PortalVisit, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, str, P], HttpResponse]:
    """Open the link of the URL's `token`, then run `view` for its customer (events it emits
    name the customer as their actor). Use it on every customer page."""

    @wraps(view)
    def page(request: HttpRequest, token: str, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        visit: PortalVisit | None = None
        try:
            visit = services.open_customer_link(tenant=getattr(request, "tenant", None), token=token)
            with acting_as(visit.actor):
                return view(request, visit, *args, **kwargs)
        except domain.DomainError as error:
            return error_page(request, error, visit=visit)

    return page


@require_GET
@portal_page
def hub_page(request: HttpRequest, visit: PortalVisit) -> HttpResponse:
    """The customer's hub."""
    now = timezone.now()
    context = {
        "title": "Your page",
        "hub": hub.customer_hub(visit=visit, now=now),
        **portal_requests.hub_requests(visit, now=now),
    }
    return render_page(request, "portal/hub.html", context, visit=visit)


# Quotes and invoices: the page shows what the PDF prints.

NOTICES = {
    "accepted": "Thank you: the quote is approved. The business has been told.",
    "declined": "The quote is declined. The business has been told.",
    "options": "The total is updated with the items you chose.",
}


def _document_context(visit: PortalVisit, document: Quote | Invoice, kind: str) -> dict[str, Any]:
    doc: PdfDocument = hub.printed(visit=visit, document=document)
    business = [doc.business_address or "", doc.business_phone or "", doc.business_email or ""]
    return {
        "title": f"{doc.kind} {doc.number}",
        "doc": doc,
        "status_label": document.get_status_display(),
        "business_lines": [line for text in business for line in text.splitlines() if line.strip()],
        "with_discount": any(line.discount for line in doc.lines),
        "pdf_url": f"{hub_path(visit)}/{kind}s/{document.pk}/pdf",
        kind: document,
    }


def _quote_page(
    request: HttpRequest, visit: PortalVisit, quote: Quote, *, error: str = "", status: int = 200
) -> HttpResponse:
    context = {
        **_document_context(visit, quote, "quote"),
        "answerable": hub.awaits_answer(visit=visit, quote=quote, now=timezone.now()),
        "optional_items": [row for row in quote.items.all() if row.optional],
        "notice": NOTICES.get(request.GET.get("answered", "")),
        "error": error,
    }
    return render_page(request, "portal/quote.html", context, visit=visit, status=status)


@require_GET
@portal_page
def quote_page(request: HttpRequest, visit: PortalVisit, quote_id: int) -> HttpResponse:
    """One of the customer's quotes, with the forms to approve or decline it while it waits."""
    return _quote_page(request, visit, hub.get_customer_quote(visit=visit, quote_id=quote_id))


def _chosen_items(request: HttpRequest) -> list[int] | None:
    """The optional items ticked on the form (None: the form offered none)."""
    if not request.POST.get("choosing"):
        return None
    values = request.POST.getlist("item")
    if not all(value.isdigit() and len(value) < 19 for value in values):
        message = "Tick the items from the list."
        raise domain.ValidationFailed(message, details=[{"field": "item", "message": message}])
    return [int(value) for value in values]


def _answer(request: HttpRequest, visit: PortalVisit, quote_id: int, *, accept: bool) -> HttpResponse:
    quote = hub.get_customer_quote(visit=visit, quote_id=quote_id)
    answer = quotes.CustomerAnswer(
        name=request.POST.get("name", ""),
        reason=request.POST.get("reason", ""),
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
    )
    try:
        quotes.answer_quote(
            tenant=visit.tenant,
            quote_id=quote.pk,
            customer_id=visit.customer.pk,
            accept=accept,
            answer=answer,
            selected_item_ids=_chosen_items(request) if accept else None,
        )
    except domain.ValidationFailed as error:
        # The form again, saying what to fix.
        return _quote_page(request, visit, quote, error=error.message, status=400)
    answered = "accepted" if accept else "declined"
    return HttpResponseRedirect(f"{hub_path(visit)}/quotes/{quote.pk}?answered={answered}", status=303)


@require_POST
@portal_page
def approve_quote(request: HttpRequest, visit: PortalVisit, quote_id: int) -> HttpResponse:
    """Approve with the typed name; back to the quote, which shows the recorded answer."""
    return _answer(request, visit, quote_id, accept=True)


@require_POST
@portal_page
def decline_quote(request: HttpRequest, visit: PortalVisit, quote_id: int) -> HttpResponse:
    """Decline with the typed name and an optional reason."""
    return _answer(request, visit, quote_id, accept=False)


@require_POST
@portal_page
def choose_quote_options(request: HttpRequest, visit: PortalVisit, quote_id: int) -> HttpResponse:
    """The optional items ticked: the quote is repriced, and shown again with its new total."""
    quote = hub.get_customer_quote(visit=visit, quote_id=quote_id)
    try:
        quotes.choose_quote_options(
            tenant=visit.tenant,
            quote_id=quote.pk,
            customer_id=visit.customer.pk,
            selected_item_ids=_chosen_items(request) or [],
        )
    except domain.ValidationFailed as error:
        return _quote_page(request, visit, quote, error=error.message, status=400)
    return HttpResponseRedirect(f"{hub_path(visit)}/quotes/{quote.pk}?answered=options", status=303)


@require_GET
@portal_page
def quote_pdf(request: HttpRequest, visit: PortalVisit, quote_id: int) -> HttpResponse:
    quote = hub.get_customer_quote(visit=visit, quote_id=quote_id)
    return _pdf(hub.render_customer_pdf(visit=visit, document=quote), f"quote-{quote.number}.pdf")


@require_GET
@portal_page
def invoice_page(request: HttpRequest, visit: PortalVisit, invoice_id: int) -> HttpResponse:
    """One of the customer's invoices, with the way to pay it by card while something is due."""
    invoice = hub.get_customer_invoice(visit=visit, invoice_id=invoice_id)
    context = _document_context(visit, invoice, "invoice")
    context["pay_url"] = context["doc"].pay_url
    return render_page(request, "portal/invoice.html", context, visit=visit)


@require_GET
@portal_page
def invoice_pdf(request: HttpRequest, visit: PortalVisit, invoice_id: int) -> HttpResponse:
    invoice = hub.get_customer_invoice(visit=visit, invoice_id=invoice_id)
    return _pdf(hub.render_customer_pdf(visit=visit, document=invoice), f"invoice-{invoice.number}.pdf")


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = pdf_response(content, filename=filename)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    return response
