"""The pages a paying customer sees on the business's host (`/p/<token>`, the invoice's pay
link, and the pages Checkout sends them back to): small HTML, readable on a phone, every
value escaped by the template. Errors are pages too, with the status of api/errors.py."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET

from api.errors import STATUS_FOR_DOMAIN_ERROR
from shared_apps import errors as domain
from tenant_apps.payments import pay_pages
from tenant_apps.payments.pay_pages import PageKind, PayPage

TEMPLATE = "payments/pay_page.html"
TITLES = {
    PageKind.THANKS: "Thank you",
    PageKind.PAID: "Invoice paid",
    PageKind.CANCELLED: "Payment not completed",
    PageKind.NOT_PAYABLE: "No payment due",
}
ERROR_PAGES = {
    404: ("Pay link not found", "This pay link is not valid here. Please use the link the business sent you."),
    409: ("Card payments unavailable", "This business cannot take card payments right now. Please contact them."),
    503: ("Please try again", "The card payment service is unavailable. Please try again in a few minutes."),
}


# The pages load nothing and post nothing; the token in their URL goes to no other site.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; "
    "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


def _render(request: HttpRequest, context: dict[str, object], status: int) -> HttpResponse:
    response = render(request, TEMPLATE, context, status=status)
    for header, value in PAGE_HEADERS.items():
        response[header] = value
    return response


def _page(request: HttpRequest, page: PayPage) -> HttpResponse:
    status = 409 if page.kind == PageKind.NOT_PAYABLE else 200
    return _render(request, {"page": page, "title": TITLES[page.kind]}, status)


def _error(request: HttpRequest, error: domain.DomainError) -> HttpResponse:
    status = next((code for cls, code in STATUS_FOR_DOMAIN_ERROR if isinstance(error, cls)), 400)
    title, message = ERROR_PAGES.get(status, ("Something went wrong", "Please try again later."))
    return _render(request, {"page": None, "title": title, "message": message}, status)


@require_GET
def follow_pay_link(request: HttpRequest, token: str) -> HttpResponse:
    """Checkout for the amount due (303), or where the invoice stands."""
    try:
        page = pay_pages.open_pay_link(tenant=getattr(request, "tenant", None), token=token)
    except domain.DomainError as error:
        return _error(request, error)
    if page.checkout_url:
        return HttpResponseRedirect(page.checkout_url, status=303)
    return _page(request, page)


@require_GET
def paid(request: HttpRequest, token: str) -> HttpResponse:
    """Checkout's success_url."""
    try:
        page = pay_pages.returned_from_checkout(
            tenant=getattr(request, "tenant", None), token=token, session_id=request.GET.get("session_id", "")[:255]
        )
    except domain.DomainError as error:
        return _error(request, error)
    return _page(request, page)


@require_GET
def cancelled(request: HttpRequest, token: str) -> HttpResponse:
    """Checkout's cancel_url."""
    try:
        page = pay_pages.left_checkout(tenant=getattr(request, "tenant", None), token=token)
    except domain.DomainError as error:
        return _error(request, error)
    return _page(request, page)


@require_GET
def follow_legacy_pay_link(request: HttpRequest, token: str) -> HttpResponse:
    """A long pay link printed or texted before short links: on to its short link."""
    try:
        url = pay_pages.legacy_pay_link(tenant=getattr(request, "tenant", None), token=token)
    except domain.DomainError as error:
        return _error(request, error)
    return HttpResponseRedirect(url, status=302)
