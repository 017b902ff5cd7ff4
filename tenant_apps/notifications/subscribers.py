"""The events notifications react to, and how. Each handler runs as its own job in the
event's tenant schema (shared_apps.events), re-reads the rows it needs and writes the
notification jobs; the event's time stands for "now" (quiet hours, reminders still ahead)."""

from shared_apps.events.catalogue import (
    AppointmentPayload,
    AppointmentRescheduledPayload,
    BookingRequestPayload,
    InvoicePayload,
    PaymentFailedPayload,
    QuotePayload,
    WorkRequestPayload,
)
from shared_apps.events.registry import subscribe
from shared_apps.events.services import DomainEvent
from shared_apps.tenants.models import Tenant
from tenant_apps.appointments.models import Appointment
from tenant_apps.billing.models import Document
from tenant_apps.invoices.models import Invoice
from tenant_apps.notifications import dunning, staff_alerts, texts
from tenant_apps.notifications.reminders import schedule_appointment_reminders
from tenant_apps.quotes.models import Quote


def _tenant(event: DomainEvent) -> Tenant:
    return Tenant.objects.get(schema_name=event.tenant)


def _appointment(event: DomainEvent) -> Appointment | None:
    assert isinstance(event.payload, AppointmentPayload)
    return Appointment.objects.select_related("customer").filter(pk=event.payload.appointment_id).first()


def send_booking_confirmation(event: DomainEvent) -> None:
    appointment = _appointment(event)
    if appointment is not None:
        texts.appointment_booked(tenant=_tenant(event), appointment=appointment, now=event.occurred_at)


def schedule_reminders(event: DomainEvent) -> None:
    """Reminders of a booked appointment, or of a moved one (the old reminders find it moved
    and do nothing); a change of end time alone keeps them."""
    payload = event.payload
    if isinstance(payload, AppointmentRescheduledPayload) and payload.starts_at == payload.previous_starts_at:
        return
    appointment = _appointment(event)
    if appointment is not None:
        schedule_appointment_reminders(tenant=_tenant(event), appointment=appointment, now=event.occurred_at)


def send_document(event: DomainEvent) -> None:
    """A sent quote or invoice: its text and its email."""
    payload = event.payload
    document: Document | None
    if isinstance(payload, QuotePayload):
        document = Quote.objects.select_related("customer").filter(pk=payload.quote_id).first()
    else:
        assert isinstance(payload, InvoicePayload)
        document = Invoice.objects.select_related("customer").filter(pk=payload.invoice_id).first()
    if document is not None:
        texts.document_sent(tenant=_tenant(event), document=document, version=payload.version, now=event.occurred_at)


def text_pay_link_after_decline(event: DomainEvent) -> None:
    """A declined card: the customer gets the pay link (quiet hours and opt-out kept)."""
    payload = event.payload
    assert isinstance(payload, PaymentFailedPayload)
    dunning.queue_failed_payment_text(
        tenant=_tenant(event), invoice_id=payload.invoice_id, notice_id=payload.notice_id, now=event.occurred_at
    )


def alert_staff(event: DomainEvent) -> None:
    """A customer booked or asked for work from their link: the managers are mailed."""
    payload = event.payload
    if isinstance(payload, BookingRequestPayload):
        kind, object_id = staff_alerts.BOOKING, payload.booking_request_id
    else:
        assert isinstance(payload, WorkRequestPayload)
        kind, object_id = staff_alerts.WORK_REQUEST, payload.work_request_id
    staff_alerts.queue_staff_alert(tenant=_tenant(event), kind=kind, object_id=object_id)


def subscribe_all() -> None:
    subscribe("appointment.booked", "notifications.booking_confirmation", send_booking_confirmation)
    subscribe("appointment.booked", "notifications.appointment_reminders", schedule_reminders)
    subscribe("appointment.rescheduled", "notifications.appointment_reminders", schedule_reminders)
    subscribe("quote.sent", "notifications.document_sent", send_document)
    subscribe("invoice.sent", "notifications.document_sent", send_document)
    subscribe("payment.failed", "notifications.payment_failed_text", text_pay_link_after_decline)
    subscribe("booking.requested", "notifications.staff_alert", alert_staff)
    subscribe("work_request.created", "notifications.staff_alert", alert_staff)
