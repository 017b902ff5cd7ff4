"""Texts that chase unpaid invoices: after a declined card, and at the tenant's
`payment_reminder_days` past the due date (dunning). Each is written as a job due when quiet
hours allow, decided once under its send key, and re-checks the invoice when it runs: a paid
or cancelled invoice gets nothing. Opted-out customers are skipped (sms.automatic). The text
after a declined card reacts to `payment.failed` (subscribers.py); dunning is this app's own
daily job."""

from datetime import datetime

from django.utils import timezone

from shared_apps.outbox.services import enqueue_after_commit
from shared_apps.tenants.models import Tenant
from tenant_apps.invoices.models import Invoice
from tenant_apps.notifications.models import NotificationSettings
from tenant_apps.notifications.template_sources import invoice_context
from tenant_apps.sms.automatic import record_skipped_text, send_automatic_text
from tenant_apps.sms.models import AutomaticText
from tenant_apps.sms.quiet_hours import next_allowed_send_time
from tenant_apps.sms.templates import render_template, template_values

FOLLOW_UP_ACTOR = "send_payment_follow_up"
PAYMENT_FAILED = "payment_failed"
PAYMENT_REMINDER = "payment_reminder"
BODIES = {
    PAYMENT_FAILED: (
        "Hi {customer_name}, your card payment for invoice {invoice_number} from {business_name} did not go "
        "through. You can pay the {amount_due} due here: {pay_url}"
    ),
    PAYMENT_REMINDER: (
        "Hi {customer_name}, invoice {invoice_number} from {business_name} is past due: {amount_due}. "
        "Pay here: {pay_url}"
    ),
}


def _queue(*, tenant: Tenant, kind: str, invoice_id: int, send_key: str, run_at: datetime) -> None:
    """Queue the text for `run_at` (next_allowed_send_time: after quiet hours)."""
    enqueue_after_commit(
        actor_name=FOLLOW_UP_ACTOR,
        schema_name=tenant.schema_name,
        run_at=run_at,
        dedupe_key=f"{tenant.schema_name}:{send_key}",
        tenant_id=tenant.pk,
        kind=kind,
        invoice_id=invoice_id,
        send_key=send_key,
    )


def queue_failed_payment_text(*, tenant: Tenant, invoice_id: int, notice_id: int, now: datetime | None = None) -> None:
    """The customer's text after a declined card (one per failure notice)."""
    _queue(
        tenant=tenant,
        kind=PAYMENT_FAILED,
        invoice_id=invoice_id,
        send_key=f"payment-failed:{notice_id}",
        run_at=next_allowed_send_time(tenant=tenant, at=now or timezone.now()),
    )


def schedule_payment_reminders(*, tenant: Tenant, now: datetime) -> int:
    """The daily dunning rule: each unpaid invoice past due gets the reminder of the latest
    `payment_reminder_days` step it has reached, once (a step missed while the system was
    down is not sent late on top of a later one). Returns how many were queued."""
    steps = sorted(set(NotificationSettings.load().payment_reminder_days))
    if not steps:
        return 0
    today = tenant.local_date(now)
    run_at = next_allowed_send_time(tenant=tenant, at=now)
    queued = 0
    overdue = Invoice.objects.filter(status__in=Invoice.PAYABLE_STATUSES, due_date__lt=today).only("pk", "due_date")
    for invoice in overdue.iterator(chunk_size=500):
        days_past = (today - invoice.due_date).days
        reached = [step for step in steps if step <= days_past]
        if not reached:
            continue
        send_key = f"dunning:{invoice.pk}:{reached[-1]}"
        if AutomaticText.objects.filter(send_key=send_key).exists():
            continue
        _queue(tenant=tenant, kind=PAYMENT_REMINDER, invoice_id=invoice.pk, send_key=send_key, run_at=run_at)
        queued += 1
    return queued


def send_payment_follow_up(
    *, tenant_id: int, kind: str, invoice_id: int, send_key: str, now: datetime | None = None
) -> AutomaticText | None:
    """Text the customer about the unpaid invoice with its pay link, once per send key;
    nothing when the invoice was paid or cancelled meanwhile (recorded as skipped)."""
    now = now or timezone.now()
    tenant = Tenant.objects.get(pk=tenant_id)
    if AutomaticText.objects.filter(send_key=send_key).exists():
        return None
    run_at = next_allowed_send_time(tenant=tenant, at=now)
    if run_at > now:
        _queue(tenant=tenant, kind=kind, invoice_id=invoice_id, send_key=send_key, run_at=run_at)
        return None
    invoice = Invoice.objects.select_related("customer").filter(pk=invoice_id).first()
    if invoice is None or not invoice.takes_payment:
        return record_skipped_text(send_key=send_key, kind=kind, reason=AutomaticText.SkipReason.GONE)
    values = template_values(invoice_context(tenant, invoice))
    body = render_template(body=BODIES[kind], values=values)
    return send_automatic_text(tenant=tenant, send_key=send_key, kind=kind, customer=invoice.customer, body=body)
