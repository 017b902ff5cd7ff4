"""What a change tells the customer, recorded as outbox rows when its event is delivered
(subscribers.py). Automatic texts are due at once, or when the tenant's quiet hours end; a
sent quote or invoice is also mailed with its PDF when the customer has an email address.
The jobs re-read everything when they run (notices.py, document_email.py)."""

from datetime import datetime

from django.utils import timezone

from shared_apps.outbox.services import enqueue_after_commit
from shared_apps.tenants.models import Tenant
from tenant_apps.appointments.models import Appointment
from tenant_apps.billing.models import Document, DocumentType
from tenant_apps.notifications.models import NotificationSettings
from tenant_apps.sms.quiet_hours import next_allowed_send_time

AUTOMATIC_SMS_ACTOR = "send_automatic_sms"
DOCUMENT_EMAIL_ACTOR = "email_document"

BOOKING_CONFIRMATION = "booking_confirmation"
QUOTE_SENT = "quote_sent"
INVOICE_SENT = "invoice_sent"


def queue_automatic_sms(
    *, tenant: Tenant, kind: str, object_id: int, send_key: str, now: datetime | None = None
) -> None:
    """The job that texts `kind` about row `object_id`, due when quiet hours allow."""
    run_at = next_allowed_send_time(tenant=tenant, at=now or timezone.now())
    enqueue_after_commit(
        actor_name=AUTOMATIC_SMS_ACTOR,
        schema_name=tenant.schema_name,
        run_at=run_at,
        tenant_id=tenant.pk,
        kind=kind,
        object_id=object_id,
        send_key=send_key,
    )


def appointment_booked(*, tenant: Tenant, appointment: Appointment, now: datetime | None = None) -> None:
    """A booking confirmation, when the tenant has them on."""
    if NotificationSettings.load().sms_booking_confirmation:
        queue_automatic_sms(
            tenant=tenant,
            kind=BOOKING_CONFIRMATION,
            object_id=appointment.pk,
            send_key=f"{BOOKING_CONFIRMATION}:{appointment.pk}",
            now=now,
        )


def document_sent(*, tenant: Tenant, document: Document, version: int, now: datetime | None = None) -> None:
    """Version `version` of a quote or invoice was sent: a text (tenant toggle) and an email
    with its PDF."""
    document_type = document.document_type
    toggles = NotificationSettings.load()
    if document_type == DocumentType.QUOTE:
        kind, enabled = QUOTE_SENT, toggles.sms_quote_sent
    else:
        kind, enabled = INVOICE_SENT, toggles.sms_invoice_sent
    if enabled:
        queue_automatic_sms(
            tenant=tenant,
            kind=kind,
            object_id=document.pk,
            send_key=f"{kind}:{document.pk}:v{version}",
            now=now,
        )
    if document.customer.email:
        enqueue_after_commit(
            actor_name=DOCUMENT_EMAIL_ACTOR,
            schema_name=tenant.schema_name,
            tenant_id=tenant.pk,
            document_type=document_type,
            document_id=document.pk,
            version=version,
        )
