"""The customer's pages for booking a visit and asking for work, below their hub
(`/c/<token>/book...`, `/c/<token>/work-request...`; api/request_urls.py). Plain forms that
work without JavaScript: a service, then a day's free slots as radio buttons, then one POST;
a work request is one multipart form. They call the same services and limits as the JSON
routes (api/portal_requests.py)."""

from datetime import date, datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from api.portal_pages import hub_path, portal_page, render_page
from api.portal_requests import limit_customer_action, read_photos
from shared_apps import errors as domain
from tenant_apps.bookings import queries as booking_queries
from tenant_apps.bookings import services as bookings
from tenant_apps.customers.queries import customer_properties
from tenant_apps.portal.services import PortalVisit
from tenant_apps.work_requests import queries as work_queries
from tenant_apps.work_requests import services as work_requests

# How many of their addresses a form offers.
PLACES_OFFERED = 20


def _invalid(field: str, message: str) -> domain.ValidationFailed:
    return domain.ValidationFailed("Please check what you entered.", details=[{"field": field, "message": message}])


def _optional_id(value: str, *, field: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise _invalid(field, "Choose one of the options.")
    return int(value)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _invalid("date", "A date such as 2026-03-02.") from None


def _instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid("starts_at", "Choose one of the times.") from None
    if moment.tzinfo is None:
        raise _invalid("starts_at", "Choose one of the times.")
    return moment


def _message(error: domain.DomainError) -> str:
    """The error and what its details say, for the form."""
    said = [str(detail["message"]) for detail in error.details if detail.get("message")]
    return " ".join([error.message, *said])


@require_GET
@portal_page
def book_start(request: HttpRequest, visit: PortalVisit) -> HttpResponse:
    """The services the customer can book."""
    options = bookings.booking_options(tenant=visit.tenant, now=timezone.now())
    context = {"title": "Book a visit", "options": options, "currency": visit.tenant.currency}
    return render_page(request, "portal/book_services.html", context, visit=visit)


def _day_page(
    request: HttpRequest,
    visit: PortalVisit,
    service_id: int,
    *,
    day: date | None,
    error: str = "",
    chosen: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    options = bookings.booking_options(tenant=visit.tenant, now=now)
    service = bookings.require_bookable_service(service_id=service_id)
    if day is None:
        day, slots = bookings.first_free_day(tenant=visit.tenant, service_id=service.pk, now=now)
    else:
        slots = bookings.list_booking_slots(tenant=visit.tenant, service_id=service.pk, day=day, now=now)
    window = options.window
    context: dict[str, Any] = {
        "title": f"Book: {service.name}",
        "service": service,
        "currency": visit.tenant.currency,
        "confirm_first": options.confirm_first,
        "day": day,
        "window": window,
        "previous_day": day - timedelta(days=1) if day > window.first_day else None,
        "next_day": day + timedelta(days=1) if day < window.last_day else None,
        "slots": slots,
        "places": list(customer_properties(customer_id=visit.customer.pk)[:PLACES_OFFERED]),
        "book_url": f"{hub_path(visit)}/book/{service.pk}",
        "error": error,
        "chosen": chosen or {},
    }
    return render_page(request, "portal/book_slots.html", context, visit=visit, status=status)


@require_http_methods(["GET", "POST"])
@portal_page
def book_service(request: HttpRequest, visit: PortalVisit, service_id: int) -> HttpResponse:
    """GET: a day's free slots of the service (`?date=`, else the first day with one).
    POST: book the chosen slot, then the booking's page; a slot taken meanwhile shows the
    day again saying so (409)."""
    if request.method == "GET":
        day = _day(request.GET["date"]) if request.GET.get("date") else None
        return _day_page(request, visit, service_id, day=day)
    chosen = {name: request.POST.get(name, "") for name in ("starts_at", "property_id", "notes")}
    starts_at = _instant(chosen["starts_at"]) if chosen["starts_at"] else None
    day = visit.tenant.local_date(starts_at) if starts_at is not None else None
    try:
        if starts_at is None:
            raise _invalid("starts_at", "Choose a time.")
        limit_customer_action(request, visit, "booking")
        booking, _ = bookings.request_booking(
            tenant=visit.tenant,
            customer_id=visit.customer.pk,
            service_id=service_id,
            starts_at=starts_at,
            property_id=_optional_id(chosen["property_id"], field="property_id"),
            notes=chosen["notes"],
        )
    except (domain.ValidationFailed, bookings.SlotTaken) as error:
        status = 409 if isinstance(error, bookings.SlotTaken) else 400
        return _day_page(request, visit, service_id, day=day, error=_message(error), chosen=chosen, status=status)
    return HttpResponseRedirect(f"{hub_path(visit)}/bookings/{booking.pk}", status=303)


@require_GET
@portal_page
def booking_page(request: HttpRequest, visit: PortalVisit, booking_request_id: int) -> HttpResponse:
    """One of the customer's bookings: booked, waiting for the business, or declined."""
    booking = booking_queries.get_booking_request(booking_request_id=booking_request_id, customer_id=visit.customer.pk)
    context = {"title": f"Your booking: {booking.service_name}", "booking": booking}
    return render_page(request, "portal/booking.html", context, visit=visit)


def _work_form(
    request: HttpRequest,
    visit: PortalVisit,
    *,
    error: str = "",
    entered: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "title": "Ask for work",
        "places": list(customer_properties(customer_id=visit.customer.pk)[:PLACES_OFFERED]),
        "max_photos": work_requests.MAX_PHOTOS,
        "error": error,
        "entered": entered or {},
    }
    return render_page(request, "portal/work_request_form.html", context, visit=visit, status=status)


@require_http_methods(["GET", "POST"])
@portal_page
def work_request_form(request: HttpRequest, visit: PortalVisit) -> HttpResponse:
    """GET: the form. POST (multipart): the request with its photos, then its page; what to
    fix is shown on the form again (400)."""
    if request.method == "GET":
        return _work_form(request, visit)
    entered = {name: request.POST.get(name, "") for name in ("description", "place", "address", "preferred_times")}
    try:
        limit_customer_action(request, visit, "work_request")
        new_place = entered["place"] == "new"
        created = work_requests.create_work_request(
            customer_id=visit.customer.pk,
            description=entered["description"],
            property_id=None if new_place else _optional_id(entered["place"], field="place"),
            address=entered["address"] if new_place else "",
            preferred_times=entered["preferred_times"],
            photos=read_photos(request.FILES.getlist("photos")),
        )
    except domain.ValidationFailed as error:
        return _work_form(request, visit, error=_message(error), entered=entered, status=400)
    return HttpResponseRedirect(f"{hub_path(visit)}/work-requests/{created.pk}", status=303)


@require_GET
@portal_page
def work_request_page(request: HttpRequest, visit: PortalVisit, work_request_id: int) -> HttpResponse:
    """One of the customer's work requests and what became of it."""
    work = work_queries.get_work_request(work_request_id=work_request_id, customer_id=visit.customer.pk)
    return render_page(request, "portal/work_request.html", {"title": "Your request", "work": work}, visit=visit)
