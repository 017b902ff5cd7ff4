"""Dunning texts at the tenant's days past due (once each, none after payment, quiet hours
kept), and the pay link on the invoice PDF."""

from datetime import UTC, date, datetime, time, timedelta
from io import BytesIO

from django.utils import timezone
from pypdf import PdfReader

from shared_apps.outbox.models import OutboxMessage
from tenant_apps.invoices.models import Invoice
from tenant_apps.invoices.services import render_invoice_pdf
from tenant_apps.notifications import dunning as follow_ups
from tenant_apps.payments import pay_links
from tenant_apps.payments.services import record_manual_payment
from tenant_apps.sms.models import AutomaticText, Message
from tests.stripe_sandbox import connect
from tests.tenant_apps.invoices.factories import sent_invoice
from tests.tenant_apps.sms import fixtures

DUE = date(2026, 3, 2)


def noon(days: int) -> datetime:
    """Noon in New York (tenant A's zone), `days` after DUE."""
    return datetime(2026, 3, 2 + days, 17, 0, tzinfo=UTC)


sender = fixtures.sender


def run_due_jobs(sender, *, now: datetime) -> None:
    """What the relay and the worker would do: run each due follow-up job once."""
    jobs = OutboxMessage.objects.filter(
        actor_name=follow_ups.FOLLOW_UP_ACTOR, published_at__isnull=True, run_at__lte=now
    )
    for job in jobs:
        job.published_at = now
        job.save(update_fields=["published_at"])
        with sender.schema():
            follow_ups.send_payment_follow_up(
                now=now, **{k: job.kwargs[k] for k in ("tenant_id", "kind", "invoice_id", "send_key")}
            )


def reminders_sent(sender, invoice: Invoice) -> list[str]:
    with sender.schema():
        return sorted(
            AutomaticText.objects.filter(send_key__startswith=f"dunning:{invoice.pk}:", status="sent").values_list(
                "send_key", flat=True
            )
        )


def test_reminders_at_1_7_and_14_days_each_once(sender):
    with sender.schema():
        invoice = sent_invoice(sender.tenant, due_date=DUE)

    for day in range(0, 20):
        with sender.schema():
            follow_ups.schedule_payment_reminders(tenant=sender.tenant, now=noon(day))
        run_due_jobs(sender, now=noon(day))

    assert reminders_sent(sender, invoice) == [f"dunning:{invoice.pk}:{d}" for d in (1, 14, 7)]
    with sender.schema():
        bodies = list(Message.objects.filter(customer_id=invoice.customer_id).values_list("body", flat=True))
    assert len(bodies) == 3
    with sender.schema():
        link = pay_links.pay_url(invoice_id=invoice.pk)
    assert all(link in body for body in bodies)


def test_the_tenant_chooses_the_days(sender):
    sender.store_settings(payment_reminder_days=[3])
    with sender.schema():
        invoice = sent_invoice(sender.tenant, due_date=DUE)
        for day in range(0, 10):
            follow_ups.schedule_payment_reminders(tenant=sender.tenant, now=noon(day))
    run_due_jobs(sender, now=noon(10))

    assert reminders_sent(sender, invoice) == [f"dunning:{invoice.pk}:3"]


def test_no_reminder_after_payment_even_if_it_was_queued(sender):
    with sender.schema():
        invoice = sent_invoice(sender.tenant, due_date=DUE)
        follow_ups.schedule_payment_reminders(tenant=sender.tenant, now=noon(1))
        record_manual_payment(invoice_id=invoice.pk, amount=invoice.total, method="cash")
        follow_ups.schedule_payment_reminders(tenant=sender.tenant, now=noon(7))

    run_due_jobs(sender, now=noon(7))

    assert reminders_sent(sender, invoice) == []
    with sender.schema():
        assert AutomaticText.objects.get(send_key=f"dunning:{invoice.pk}:1").skip_reason == "gone"


def test_a_reminder_found_at_night_waits_for_the_end_of_quiet_hours(sender):
    night = datetime(2026, 3, 4, 5, 5, tzinfo=UTC)  # 00:05 in New York, the daily run
    with sender.schema():
        invoice = sent_invoice(sender.tenant, due_date=DUE)
        follow_ups.schedule_payment_reminders(tenant=sender.tenant, now=night)
    [job] = OutboxMessage.objects.filter(actor_name=follow_ups.FOLLOW_UP_ACTOR)

    run_due_jobs(sender, now=night)

    local_run = job.run_at.astimezone(sender.tenant.zone)
    assert local_run.time() == time(8, 0)  # the default end of quiet hours
    assert reminders_sent(sender, invoice) == []


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


def test_the_invoice_pdf_prints_the_pay_link_once_cards_are_taken(stripe_sandbox, tenant_a):
    with tenant_a.schema():
        before = sent_invoice(tenant_a.tenant)
        without = pdf_text(render_invoice_pdf(tenant=tenant_a.tenant, invoice_id=before.pk))
    connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
        text = pdf_text(render_invoice_pdf(tenant=tenant_a.tenant, invoice_id=invoice.pk))

    assert "PAY ONLINE" not in without
    assert "PAY ONLINE BY CARD" in text
    with tenant_a.schema():
        link = pay_links.pay_url(invoice_id=invoice.pk)
    assert link in text.splitlines()


def test_the_daily_actors_queue_reminders_and_reconcile(sender):
    from tasks import actors

    # The daily run reads the clock: the invoice is 8 days past due today.
    today = sender.tenant.local_date(timezone.now())
    with sender.schema():
        invoice = sent_invoice(sender.tenant, due_date=today - timedelta(days=8))

    with sender.schema():  # the worker activates the message's schema
        actors.send_payment_reminders.fn(tenant_id=sender.tenant.pk, local_day=today.isoformat())
        actors.reconcile_stripe_payments.fn(tenant_id=sender.tenant.pk, local_day=today.isoformat())

    [job] = OutboxMessage.objects.filter(actor_name=follow_ups.FOLLOW_UP_ACTOR)
    assert job.kwargs["send_key"] == f"dunning:{invoice.pk}:7"
    # Each run wrote tomorrow's (the tenant's own schedule, written when it was made, may hold
    # today's as well, depending on which side of 00:05 local the suite started).
    next_runs = OutboxMessage.objects.filter(
        actor_name__in=("send_payment_reminders", "reconcile_stripe_payments"),
        schema_name=sender.tenant.schema_name,
        dedupe_key__endswith=f":{(today + timedelta(days=1)).isoformat()}",
    )
    assert sorted(next_runs.values_list("actor_name", flat=True)) == [
        "reconcile_stripe_payments",
        "send_payment_reminders",
    ]
