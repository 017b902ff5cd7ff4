"""Automatic texts (reminders, confirmations, quote and invoice notices): each is decided once
under its send key and either queued or skipped with the reason recorded. Quiet hours are the
caller's business (`quiet_hours.next_allowed_send_time`), since only the caller knows when to
try again.

Booking confirmations and quote / invoice notices are written as jobs by notifications.py and
run by `send_notice`, which re-reads everything when it runs: the tenant's toggle (off now:
nothing), the clock (in quiet hours after a delay: due again in the morning), the row (a
cancelled appointment or a document no longer sent: skipped) and the customer."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from shared_apps.errors import ValidationFailed
from shared_apps.tenants.models import Tenant
from tenant_apps.appointments.models import Appointment
from tenant_apps.customers import queries as customer_queries
from tenant_apps.customers.models import Customer
from tenant_apps.customers.services import RecipientOptedOut
from tenant_apps.invoices.models import Invoice
from tenant_apps.quotes.models import Quote
from tenant_apps.sms import notifications
from tenant_apps.sms.models import AutomaticText
from tenant_apps.sms.quiet_hours import next_allowed_send_time
from tenant_apps.sms.services import queue_sms
from tenant_apps.sms.templates import TemplateContext, render_template, template_values

Reason = AutomaticText.SkipReason


def record_skipped_text(
    *, send_key: str, kind: str, reason: AutomaticText.SkipReason, customer: Customer | None = None
) -> AutomaticText | None:
    """Record that the text under `send_key` is not sent (None if it was already decided)."""
    return _decide(
        AutomaticText(
            send_key=send_key, kind=kind, status=AutomaticText.Status.SKIPPED, skip_reason=reason, customer=customer
        )
    )


def send_automatic_text(
    *, tenant: Tenant, send_key: str, kind: str, customer: Customer, body: str
) -> AutomaticText | None:
    """Queue `body` to the customer's phone once per `send_key`, in the caller's transaction;
    an opted-out number, a customer without a phone or a business without a sender number is
    skipped and recorded. Returns None when the key was already decided (nothing happens)."""
    with transaction.atomic():
        if AutomaticText.objects.filter(send_key=send_key).exists():
            return None
        reason = _reason_to_skip(tenant=tenant, customer=customer)
        if reason is not None:
            return record_skipped_text(send_key=send_key, kind=kind, reason=reason, customer=customer)
        try:
            message = queue_sms(tenant=tenant, customer_id=customer.pk, body=body)
        except RecipientOptedOut:
            return record_skipped_text(send_key=send_key, kind=kind, reason=Reason.OPTED_OUT, customer=customer)
        except ValidationFailed:  # the text as rendered is empty or too long
            return record_skipped_text(send_key=send_key, kind=kind, reason=Reason.UNSENDABLE, customer=customer)
        return _decide(
            AutomaticText(
                send_key=send_key, kind=kind, status=AutomaticText.Status.SENT, customer=customer, message=message
            ),
            raise_if_taken=True,
        )


def _reason_to_skip(*, tenant: Tenant, customer: Customer) -> AutomaticText.SkipReason | None:
    if not tenant.sms_sender:
        return Reason.NO_SENDER
    if not customer.phone:
        return Reason.NO_PHONE
    if customer_queries.is_phone_opted_out(phone=customer.phone):  # the customer, or another with the number
        return Reason.OPTED_OUT
    return None


def _decide(text: AutomaticText, *, raise_if_taken: bool = False) -> AutomaticText | None:
    """Insert the decision; a concurrent run that decided the same key first wins. When a text
    was queued in the same transaction, losing must undo it (`raise_if_taken`)."""
    try:
        with transaction.atomic():
            text.save()
    except IntegrityError:
        if raise_if_taken:
            raise
        return None
    return text


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
        return TemplateContext(tenant=tenant, customer=appointment.customer, appointment=appointment)
    if kind == notifications.QUOTE_SENT:
        quote = Quote.objects.select_related("customer").filter(pk=object_id).first()
        if quote is None or quote.status != Quote.Status.SENT:
            return None
        return TemplateContext(tenant=tenant, customer=quote.customer, quote=quote)
    invoice = Invoice.objects.select_related("customer").filter(pk=object_id).first()
    if invoice is None or invoice.status not in SENT_INVOICE:
        return None
    return TemplateContext(tenant=tenant, customer=invoice.customer, invoice=invoice)


def send_notice(
    *, tenant_id: int, kind: str, object_id: int, send_key: str, now: datetime | None = None
) -> AutomaticText | None:
    """Queue (or record as skipped) the notice `send_key`, once. Returns the decision; None
    when it was decided before, the tenant turned the kind off, or it waits for the morning."""
    now = now or timezone.now()
    tenant = Tenant.objects.get(pk=tenant_id)
    if not getattr(tenant, NOTICE_TOGGLES[kind]) or AutomaticText.objects.filter(send_key=send_key).exists():
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
