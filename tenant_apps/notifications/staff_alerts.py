"""Telling the business's owners and admins what customers did from their link: an online
booking (booked, or waiting for them to accept) and a work request. Queued as a job when the
event is delivered (subscribers.py), mailed by `email_staff_alert`, which re-reads the row.
Members also see the events live (shared_apps/realtime)."""

from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail

from shared_apps.accounts.models import Membership
from shared_apps.accounts.services import MANAGER_ROLES
from shared_apps.outbox.services import enqueue_after_commit
from shared_apps.tenants.models import Tenant
from tenant_apps.bookings.models import BookingRequest
from tenant_apps.work_requests.models import WorkRequest
from tenant_apps.work_requests.queries import list_work_requests

STAFF_ALERT_ACTOR = "email_staff_alert"
BOOKING = "booking_request"
WORK_REQUEST = "work_request"


def queue_staff_alert(*, tenant: Tenant, kind: str, object_id: int) -> None:
    """The job that mails the managers about row `object_id` of `kind`, once."""
    enqueue_after_commit(
        actor_name=STAFF_ALERT_ACTOR,
        schema_name=tenant.schema_name,
        dedupe_key=f"staff-alert:{tenant.schema_name}:{kind}:{object_id}",
        tenant_id=tenant.pk,
        kind=kind,
        object_id=object_id,
    )


def _local(tenant: Tenant, moment: datetime) -> str:
    return f"{moment.astimezone(tenant.zone):%A %d %B %Y %H:%M} ({tenant.timezone})"


def _booking_text(tenant: Tenant, request: BookingRequest) -> tuple[str, str]:
    when = _local(tenant, request.starts_at)
    if request.status == BookingRequest.Status.PENDING:
        subject = f"Booking request from {request.customer.name}"
        lead = f"{request.customer.name} asks to book {request.service_name} on {when}. Accept or decline it"
        lead += f" (POST /api/v1/booking-requests/{request.pk}/accept or /decline)."
    else:
        subject = f"Booked online by {request.customer.name}"
        lead = (
            f"{request.customer.name} booked {request.service_name} on {when} (appointment {request.appointment_id})."
        )
    return subject, "\n\n".join(part for part in (lead, request.notes) if part)


def _work_request_text(request: WorkRequest) -> tuple[str, str]:
    lines = [
        f"{request.customer.name} asked for work:",
        request.description,
        f"Where: {request.service_property.one_line() if request.service_property else 'not given'}",
        f"When suits them: {request.preferred_times or 'not given'}",
        f"Photos: {request.photo_count}",  # type: ignore[attr-defined]  # get_work_request counts them
        f"See GET /api/v1/work-requests/{request.pk}.",
    ]
    return f"Work request from {request.customer.name}", "\n".join(lines)


def email_staff_alert(*, tenant_id: int, kind: str, object_id: int) -> int:
    """Mail the owners and admins about a customer's booking or work request; returns how
    many were mailed (none when the row is gone)."""
    tenant = Tenant.objects.get(pk=tenant_id)
    if kind == BOOKING:
        booking = BookingRequest.objects.select_related("customer").filter(pk=object_id).first()
        text = _booking_text(tenant, booking) if booking is not None else None
    else:
        work = list_work_requests().select_related("customer").filter(pk=object_id).first()
        text = _work_request_text(work) if work is not None else None
    managers = list(
        Membership.objects.filter(tenant=tenant, role__in=MANAGER_ROLES).values_list("user__email", flat=True)
    )
    if text is None or not managers:
        return 0
    subject, body = text
    send_mail(f"{tenant.name}: {subject}", body, settings.DEFAULT_FROM_EMAIL, managers)
    return len(managers)
