"""Secret iCalendar feeds (RFC 5545) that calendar apps subscribe to without signing in.

A feed token is `<schema name>.<random secret>`: it names its business, so the feed URL
works on the business's own host and on the API host (where no tenant is resolved), and a
token shown on another business's host is simply unknown (404). Only a SHA-256 digest of
the whole token is stored; rotating replaces it and the old URL stops working at once.
A staff member's feed dies with their membership.

The feed holds the last FEED_PAST and the next FEED_FUTURE of appointments (at most
FEED_MAX_EVENTS), cancelled and no-show ones included so subscribed calendars drop them:
CANCELLED -> STATUS:CANCELLED, SCHEDULED -> TENTATIVE, the rest CONFIRMED.

Recurring visits are in the feed as the appointments they are materialised into (each its own
VEVENT, booked up to the series' horizon), not as one RRULE event: a visit moved, cancelled or
refused alone then needs no EXDATE or override, and every calendar shows what is booked. Each
names its series with RELATED-TO (`series-<id>@<host>`).
"""

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import tenant_context
from icalendar import Calendar, Event

from shared_apps.accounts.services import MANAGER_ROLES, member_role
from shared_apps.errors import Conflict, NotFound, PermissionDenied
from shared_apps.tenants import queries as tenant_queries
from shared_apps.tenants.models import Tenant
from shared_apps.tenants.services import require_active_tenant, tenant_host
from tenant_apps.appointments.models import Appointment, CalendarFeed
from tenant_apps.appointments.staff import require_staff

FEED_PAST = timedelta(days=90)
FEED_FUTURE = timedelta(days=366)
FEED_MAX_EVENTS = 2000
ICAL_STATUS: dict[str, str] = {
    Appointment.Status.SCHEDULED: "TENTATIVE",
    Appointment.Status.CANCELLED: "CANCELLED",
}


def hash_feed_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def rotate_calendar_feed(*, tenant: Tenant, actor_user_id: int, actor_role: str, staff_id: int | None) -> str:
    """Create or replace the feed of `staff_id` (None: the whole business) and return its new
    token, shown once. Owners and admins manage every feed; staff only their own."""
    if actor_role not in MANAGER_ROLES and staff_id != actor_user_id:
        raise PermissionDenied("Staff may only manage their own calendar feed.", code="role_forbidden")
    if staff_id is not None:
        require_staff(tenant=tenant, staff_id=staff_id)
    token = f"{tenant.schema_name}.{secrets.token_urlsafe(32)}"
    try:
        with transaction.atomic():
            CalendarFeed.objects.filter(staff_id=staff_id).delete()
            CalendarFeed.objects.create(
                staff_id=staff_id, token_hash=hash_feed_token(token), created_by_id=actor_user_id
            )
    except IntegrityError:
        raise Conflict("The feed is being rotated by another request; try again.", code="feed_rotating") from None
    return token


def _feed_tenant(*, token: str, host_tenant: Tenant | None) -> Tenant:
    schema_name, _, secret = token.partition(".")
    if not secret or (host_tenant is not None and host_tenant.schema_name != schema_name):
        raise NotFound("Unknown calendar feed.")
    tenant = host_tenant or tenant_queries.get_tenant_by_schema(schema_name=schema_name)
    if tenant is None or tenant.status == Tenant.Status.POOLED:
        raise NotFound("Unknown calendar feed.")
    require_active_tenant(tenant=tenant)
    return tenant


def render_calendar_feed(*, token: str, host_tenant: Tenant | None) -> bytes:
    """The iCalendar document for `token`; NotFound for an unknown, rotated or foreign token."""
    tenant = _feed_tenant(token=token, host_tenant=host_tenant)
    with tenant_context(tenant):
        feed = CalendarFeed.objects.filter(token_hash=hash_feed_token(token)).first()
        if feed is None:
            raise NotFound("Unknown calendar feed.")
        if feed.staff_id is not None and member_role(user_id=feed.staff_id, tenant_id=tenant.pk) is None:
            raise NotFound("Unknown calendar feed.")
        now = timezone.now()
        in_window = (
            Appointment.objects.select_related("customer", "service_property")
            .annotate(series_id=F("occurrence__series_id"))
            .filter(ends_at__gt=now - FEED_PAST, starts_at__lt=now + FEED_FUTURE)
        )
        if feed.staff_id is not None:
            in_window = in_window.filter(staff_id=feed.staff_id)
        appointments = list(in_window.order_by("starts_at", "id")[:FEED_MAX_EVENTS])
    return _to_ical(tenant=tenant, staff_id=feed.staff_id, appointments=appointments)


def _to_ical(*, tenant: Tenant, staff_id: int | None, appointments: Sequence[Appointment]) -> bytes:
    host = tenant_host(slug=tenant.claimed_slug)
    calendar = Calendar()
    calendar.add("prodid", "-//Service business API//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", tenant.name if staff_id is None else f"{tenant.name} (staff {staff_id})")
    calendar.add("x-wr-timezone", tenant.timezone)
    for appointment in appointments:
        event = Event()
        event.add("uid", f"appointment-{appointment.pk}@{host}")
        event.add("dtstamp", appointment.updated_at)
        event.add("last-modified", appointment.updated_at)
        event.add("created", appointment.created_at)
        event.add("dtstart", appointment.starts_at)
        event.add("dtend", appointment.ends_at)
        event.add("summary", f"{appointment.title} - {appointment.customer.name}")
        event.add("status", ICAL_STATUS.get(appointment.status, "CONFIRMED"))
        event.add("sequence", appointment.version)
        event.add("categories", [appointment.status])
        series_id = getattr(appointment, "series_id", None)
        if series_id is not None:
            event.add("related-to", f"series-{series_id}@{host}")
        place = appointment.service_property
        # Where the visit is; without a property, the customer's own address.
        location = place.one_line() if place is not None else appointment.customer.address
        if location:
            event.add("location", location)
        description = [appointment.notes] if appointment.notes else []
        if place is not None and place.access_notes:
            description.append(f"Access: {place.access_notes}")
        if appointment.cancel_reason:
            description.append(f"Cancelled: {appointment.cancel_reason}")
        if description:
            event.add("description", "\n\n".join(description))
        calendar.add_component(event)
    return calendar.to_ical()
