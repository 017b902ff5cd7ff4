"""Booking confirmations and quote / invoice notices. Written as jobs by texts.py when the
event that causes them is delivered, and run by `send_notice`, which re-reads everything when
it runs: the tenant's toggle (off now: nothing), the clock (in quiet hours after a delay: due
again in the morning), the row (a cancelled appointment or a document no longer sent:
skipped) and the customer."""

from datetime import datetime

from django.db import IntegrityError
from django.utils import timezone

from shared_apps.tenants.models import Tenant
from tenant_apps.appointments.models import Appointment
from tenant_apps.invoices.models import Invoice
from tenant_apps.notifications import texts as notifications
from tenant_apps.notifications.models import NotificationSettings
from tenant_apps.notifications.template_sources import appointment_context, invoice_context, quote_context
from tenant_apps.quotes.models import Quote
from tenant_apps.sms.automatic import Reason, record_skipped_text, send_automatic_text
from tenant_apps.sms.models import AutomaticText
from tenant_apps.sms.quiet_hours import next_allowed_send_time
from tenant_apps.sms.templates import TemplateContext, render_template, template_values

# The text of each notice, rendered by the templates' one renderer.
NOTICE_BODIES = {
    notifications.BOOKING_CONFIRMATION: (
        "Hi {customer_name}, {business_name} has booked your appointment for {appointment_time}. "
        "Reply STOP to stop these texts."
    ),
    notifications.QUOTE_SENT: "Hi {customer_name}, {business_name} sent you quote {quote_number} for {quote_total}.",
    notifications.INVOICE_SENT: (
        "Hi {customer_name}, {business_name} sent you invoice {invoice_number}: {amount_due} due."
    ),
}
NOTICE_TOGGLES = {
    notifications.BOOKING_CONFIRMATION: "sms_booking_confirmation",
    notifications.QUOTE_SENT: "sms_quote_sent",
    notifications.INVOICE_SENT: "sms_invoice_sent",
}
SENT_INVOICE = frozenset(
    {Invoice.Status.SENT, Invoice.Status.PARTIALLY_PAID, Invoice.Status.PAID, Invoice.Status.OVERDUE}
)


def _notice_context(*, tenant: Tenant, kind: str, object_id: int) -> TemplateContext | None:
    """What the notice is about, or None when that no longer stands."""
    if kind == notifications.BOOKING_CONFIRMATION:
        appointment = Appointment.objects.select_related("customer").filter(pk=object_id).first()
        if appointment is None or not appointment.is_active:
            return None
        return appointment_context(tenant, appointment)
    if kind == notifications.QUOTE_SENT:
        quote = Quote.objects.select_related("customer").filter(pk=object_id).first()
        if quote is None or quote.status != Quote.Status.SENT:
            return None
        return quote_context(tenant, quote)
    invoice = Invoice.objects.select_related("customer").filter(pk=object_id).first()
    if invoice is None or invoice.status not in SENT_INVOICE:
        return None
    return invoice_context(tenant, invoice)


def send_notice(
    *, tenant_id: int, kind: str, object_id: int, send_key: str, now: datetime | None = None
) -> AutomaticText | None:
    """Queue (or record as skipped) the notice `send_key`, once. Returns the decision; None
    when it was decided before, the tenant turned the kind off, or it waits for the morning."""
    now = now or timezone.now()
    tenant = Tenant.objects.get(pk=tenant_id)
    if (
        not getattr(NotificationSettings.load(), NOTICE_TOGGLES[kind])
        or AutomaticText.objects.filter(send_key=send_key).exists()
    ):
        return None
    if next_allowed_send_time(tenant=tenant, at=now) > now:
        notifications.queue_automatic_sms(tenant=tenant, kind=kind, object_id=object_id, send_key=send_key, now=now)
        return None
    context = _notice_context(tenant=tenant, kind=kind, object_id=object_id)
    if context is None or context.customer is None:
        return record_skipped_text(send_key=send_key, kind=kind, reason=Reason.GONE)
    body = render_template(body=NOTICE_BODIES[kind], values=template_values(context))
    try:
        return send_automatic_text(tenant=tenant, send_key=send_key, kind=kind, customer=context.customer, body=body)
    except IntegrityError:
        # A concurrent run of the same job decided it first (and its text is the one queued).
        return None
