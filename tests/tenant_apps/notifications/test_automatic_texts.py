"""Booking confirmations and quote / invoice notices: written with the change that causes
them, sent when quiet hours allow, once per send key, skipped and recorded when the customer
cannot be texted."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError
from django_tenants.utils import tenant_context

from shared_apps.outbox.models import OutboxMessage
from tenant_apps.appointments import services as appointment_services
from tenant_apps.invoices import services as invoice_services
from tenant_apps.notifications import notices as automatic
from tenant_apps.notifications import texts as notifications
from tenant_apps.quotes import services as quote_services
from tenant_apps.sms import services
from tenant_apps.sms.models import AutomaticText, Message
from tests.concurrency import run_at_once
from tests.events import deliver_events
from tests.factories import CustomerFactory
from tests.tenant_apps.invoices.factories import draft_invoice
from tests.tenant_apps.quotes.factories import draft_quote
from tests.tenant_apps.sms import fixtures

SENDER = fixtures.SENDER
sender = fixtures.sender

# 15:00 and 23:00 in New York (EST) on 15 January 2026; quiet hours are 21:00-08:00.
AFTERNOON = datetime(2026, 1, 15, 20, 0, tzinfo=UTC)
LATE_EVENING = datetime(2026, 1, 16, 4, 0, tzinfo=UTC)
NEXT_MORNING = datetime(2026, 1, 16, 13, 0, tzinfo=UTC)


def jobs(actor_name: str = notifications.AUTOMATIC_SMS_ACTOR) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(actor_name=actor_name, published_at__isnull=True).order_by("id"))


def book(test_tenant, customer) -> int:
    with test_tenant.schema():
        appointment_id = appointment_services.create_appointment(
            tenant=test_tenant.tenant,
            customer_id=customer.pk,
            title="Boiler service",
            starts_at=datetime(2026, 1, 20, 15, 0, tzinfo=UTC),
            ends_at=datetime(2026, 1, 20, 16, 0, tzinfo=UTC),
        ).pk
    deliver_events(schema_name=test_tenant.tenant.schema_name)  # the booking's event reaches notifications
    return appointment_id


def run_job(test_tenant, job: OutboxMessage, now: datetime = AFTERNOON) -> AutomaticText | None:
    with test_tenant.schema():
        return automatic.send_notice(now=now, **job.kwargs)


def test_booking_writes_its_confirmation_job_with_the_appointment(sender):
    with sender.schema():
        customer = CustomerFactory()

    appointment_id = book(sender, customer)

    [job] = jobs()
    assert job.schema_name == sender.tenant.schema_name
    assert job.kwargs == {
        "tenant_id": sender.tenant.pk,
        "kind": "booking_confirmation",
        "object_id": appointment_id,
        "send_key": f"booking_confirmation:{appointment_id}",
    }


@pytest.mark.parametrize(("now", "due"), [(AFTERNOON, AFTERNOON), (LATE_EVENING, NEXT_MORNING)])
def test_automatic_texts_are_due_when_quiet_hours_allow(sender, now, due):
    with sender.schema():  # where the business's quiet hours are kept
        notifications.queue_automatic_sms(
            tenant=sender.tenant, kind="booking_confirmation", object_id=1, send_key="k", now=now
        )

    [job] = jobs()
    assert job.run_at == due


def test_the_job_queues_the_confirmation_once(sender):
    with sender.schema():
        customer = CustomerFactory(name="Dana Reyes", phone="+12025550111")
    book(sender, customer)
    [job] = jobs()

    first = run_job(sender, job)
    again = run_job(sender, job)

    message = first.message
    assert again is None
    assert (first.status, first.kind, first.customer_id) == ("sent", "booking_confirmation", customer.pk)
    assert (message.status, message.to_number, message.customer_id) == ("queued", "+12025550111", customer.pk)
    assert message.body == (
        f"Hi Dana Reyes, {sender.tenant.name} has booked your appointment for Tue 20 Jan, 10:00 AM. "
        "Reply STOP to stop these texts."
    )
    [send] = jobs(services.SEND_ACTOR)
    assert send.kwargs["message_id"] == message.pk
    with sender.schema():
        assert Message.objects.count() == 1


def test_a_job_that_runs_late_into_quiet_hours_waits_for_the_morning(sender):
    with sender.schema():
        customer = CustomerFactory()
    book(sender, customer)
    [job] = jobs()

    held = run_job(sender, job, now=LATE_EVENING)

    [_, again] = jobs()
    assert held is None
    assert (again.kwargs, again.run_at) == (job.kwargs, NEXT_MORNING)
    with sender.schema():
        assert (Message.objects.count(), AutomaticText.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("customer", "note"),
    [
        ({"phone": ""}, "no_phone"),
        ({"sms_opt_out": True}, "opted_out"),
    ],
)
def test_a_customer_who_cannot_be_texted_is_skipped_and_recorded(sender, customer, note):
    with sender.schema():
        customer = CustomerFactory(**customer)
    book(sender, customer)
    [job] = jobs()

    skipped = run_job(sender, job)

    assert (skipped.status, skipped.skip_reason, skipped.customer_id) == ("skipped", note, customer.pk)
    assert jobs(services.SEND_ACTOR) == []
    with sender.schema():
        assert Message.objects.count() == 0


def test_a_cancelled_appointment_gets_no_confirmation(sender):
    with sender.schema():
        customer = CustomerFactory()
    appointment_id = book(sender, customer)
    with sender.schema():
        appointment_services.transition_appointment(
            appointment_id=appointment_id, status="CANCELLED", reason="Customer called"
        )
    [job] = jobs()

    skipped = run_job(sender, job)

    assert (skipped.status, skipped.skip_reason) == ("skipped", "gone")


def test_a_kind_turned_off_writes_no_job_and_a_waiting_job_sends_nothing(sender):
    with sender.schema():
        customer = CustomerFactory()
    book(sender, customer)
    [job] = jobs()
    sender.store_settings(sms_booking_confirmation=False)
    with sender.schema():
        other = CustomerFactory()
    book(sender, other)
    waiting = run_job(sender, job)

    assert waiting is None
    assert len(jobs()) == 1


def test_sending_a_quote_or_invoice_writes_its_text_and_email_jobs(sender):
    with sender.schema():
        customer = CustomerFactory(name="Lee Park", email="lee@example.test")
        quote = draft_quote(sender.tenant, customer_id=customer.pk)
        invoice = draft_invoice(sender.tenant, customer_id=customer.pk)
        quote = quote_services.change_quote_status(
            tenant=sender.tenant, quote_id=quote.pk, status="SENT", now=AFTERNOON
        )
        invoice = invoice_services.change_invoice_status(
            tenant=sender.tenant, invoice_id=invoice.pk, status="SENT", now=AFTERNOON
        )
    deliver_events()

    texts, emails = jobs(), jobs(notifications.DOCUMENT_EMAIL_ACTOR)
    assert [job.kwargs["send_key"] for job in texts] == [
        f"quote_sent:{quote.pk}:v{quote.version}",
        f"invoice_sent:{invoice.pk}:v{invoice.version}",
    ]
    assert [(job.kwargs["document_type"], job.kwargs["document_id"], job.kwargs["version"]) for job in emails] == [
        ("quote", quote.pk, quote.version),
        ("invoice", invoice.pk, invoice.version),
    ]
    quote_text, invoice_text = (run_job(sender, job) for job in texts)
    assert quote_text.message.body == f"Hi Lee Park, {sender.tenant.name} sent you quote {quote.number} for $43.28."
    assert (
        invoice_text.message.body == f"Hi Lee Park, {sender.tenant.name} sent you invoice {invoice.number}: $43.28 due."
    )


def test_no_email_job_without_an_address_and_no_text_when_turned_off(sender):
    sender.store_settings(sms_invoice_sent=False)
    with sender.schema():
        invoice = draft_invoice(sender.tenant, customer_id=CustomerFactory(email="").pk)
        invoice_services.change_invoice_status(tenant=sender.tenant, invoice_id=invoice.pk, status="SENT")
    deliver_events()

    assert jobs() == []
    assert jobs(notifications.DOCUMENT_EMAIL_ACTOR) == []


def test_a_text_sent_by_hand_goes_at_once_even_in_quiet_hours(sender):
    with sender.schema():
        message = services.queue_sms(tenant=sender.tenant, to="+12025550111", body="On our way")

    [send] = jobs(services.SEND_ACTOR)
    assert send.kwargs["message_id"] == message.pk
    assert send.run_at is None


@pytest.mark.concurrency
def test_a_job_delivered_to_four_workers_at_once_records_one_text(committed_tenant):
    committed_tenant.store_settings(sms_sender=SENDER)
    with committed_tenant.schema():
        appointment_id = book(committed_tenant, CustomerFactory())
    [job] = OutboxMessage.objects.filter(
        schema_name=committed_tenant.tenant.schema_name, actor_name="send_automatic_sms"
    )

    def deliver() -> int | None:
        with tenant_context(committed_tenant.tenant):
            decided = automatic.send_notice(now=AFTERNOON, **job.kwargs)
            return decided.message_id if decided is not None else None

    outcomes = run_at_once([deliver] * 4, expected=IntegrityError)
    with committed_tenant.schema():
        decision = AutomaticText.objects.get(send_key=f"booking_confirmation:{appointment_id}")
        messages = list(Message.objects.values_list("pk", flat=True))
    OutboxMessage.objects.filter(schema_name=committed_tenant.tenant.schema_name).delete()
    assert messages == [decision.message_id]
    assert sorted(outcomes, key=str) == [decision.message_id, None, None, None]
