"""Automatic texts (booking confirmation, quote sent, invoice sent), run by their job.

The job was written with the change (notifications.py), due when quiet hours allow. When it
runs it re-reads everything: the tenant's toggle (off now: nothing), the row (a cancelled
appointment or a document no longer sent: skipped), the clock (in quiet hours after a delay:
due again in the morning) and the customer. A customer without a phone or who opted out gets
no text, and a `skipped` message with a note records why. Each text has a unique send key,
so a re-delivered job records or sends it once."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from shared_apps.tenants.models import Tenant
from tenant_apps.appointments.models import Appointment
from tenant_apps.customers.models import Customer
from tenant_apps.invoices.models import Invoice
from tenant_apps.quotes.models import Quote
from tenant_apps.sms import notifications
from tenant_apps.sms.models import Message
from tenant_apps.sms.quiet_hours import next_allowed_send_time
from tenant_apps.sms.services import create_outbound_message
from tenant_apps.sms.templates import TemplateContext, render_template, template_values

# The text of each kind, rendered by the templates' one renderer.
BODIES = {
    notifications.BOOKING_CONFIRMATION: (
        "Hi {customer_name}, {business_name} has booked your appointment for {appointment_time}. "
        "Reply STOP to stop these texts."
    ),
    notifications.QUOTE_SENT: "Hi {customer_name}, {business_name} sent you quote {quote_number} for {quote_total}.",
    notifications.INVOICE_SENT: (
        "Hi {customer_name}, {business_name} sent you invoice {invoice_number}: {amount_due} due."
    ),
}
TOGGLES = {
    notifications.BOOKING_CONFIRMATION: "sms_booking_confirmation",
    notifications.QUOTE_SENT: "sms_quote_sent",
    notifications.INVOICE_SENT: "sms_invoice_sent",
}
ACTIVE_APPOINTMENT = frozenset(
    {Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED, Appointment.Status.IN_PROGRESS}
)
NOT_SENT_INVOICE = frozenset({Invoice.Status.DRAFT, Invoice.Status.CANCELLED})


def _context(*, tenant: Tenant, kind: str, object_id: int) -> tuple[TemplateContext | None, str]:
    """What the text is about, or None and why it no longer applies."""
    if kind == notifications.BOOKING_CONFIRMATION:
        appointment = Appointment.objects.select_related("customer").filter(pk=object_id).first()
        if appointment is None or appointment.status not in ACTIVE_APPOINTMENT:
            return None, "The appointment is no longer booked."
        return TemplateContext(tenant=tenant, customer=appointment.customer, appointment=appointment), ""
    if kind == notifications.QUOTE_SENT:
        quote = Quote.objects.select_related("customer").filter(pk=object_id).first()
        if quote is None or quote.status != Quote.Status.SENT:
            return None, "The quote is no longer open."
        return TemplateContext(tenant=tenant, customer=quote.customer, quote=quote), ""
    invoice = Invoice.objects.select_related("customer").filter(pk=object_id).first()
    if invoice is None or invoice.status in NOT_SENT_INVOICE:
        return None, "The invoice is no longer sent."
    return TemplateContext(tenant=tenant, customer=invoice.customer, invoice=invoice), ""


def _why_not_texted(*, tenant: Tenant, customer: Customer) -> str:
    if not tenant.sms_sender:
        return "The business has no sms_sender number."
    if not customer.phone:
        return "The customer has no phone number."
    if customer.sms_opt_out or Customer.objects.filter(phone=customer.phone, sms_opt_out=True).exists():
        return "The customer opted out of texts."
    return ""


def send_automatic_sms(
    *, tenant_id: int, kind: str, object_id: int, send_key: str, now: datetime | None = None
) -> Message | None:
    """Queue (or record as skipped) the automatic text `send_key`, once. Returns its message;
    None when the tenant turned the kind off or it waits for the end of quiet hours."""
    now = now or timezone.now()
    tenant = Tenant.objects.get(pk=tenant_id)
    existing = Message.objects.filter(send_key=send_key).first()
    if existing is not None or not getattr(tenant, TOGGLES[kind]):
        return existing
    if next_allowed_send_time(tenant=tenant, at=now) > now:
        notifications.queue_automatic_sms(tenant=tenant, kind=kind, object_id=object_id, send_key=send_key, now=now)
        return None
    context, gone = _context(tenant=tenant, kind=kind, object_id=object_id)
    customer = context.customer if context is not None else None
    note = gone or _why_not_texted(tenant=tenant, customer=customer)
    body = "" if context is None else render_template(body=BODIES[kind], values=template_values(context))
    try:
        with transaction.atomic():
            return create_outbound_message(
                tenant=tenant,
                to_number=customer.phone if customer is not None else "",
                body=body,
                customer=customer,
                status=Message.Status.SKIPPED if note else Message.Status.QUEUED,
                note=note,
                send_key=send_key,
            )
    except IntegrityError:
        # A concurrent run of the same job recorded it first.
        return Message.objects.get(send_key=send_key)
