"""Stripe's events as its API reference shows them (whole objects from Stripe's published
fixtures, tests/fixtures/stripe_objects.json): disputes that name only their charge,
disputed funds withdrawn and reinstated, Checkout Sessions paid by an asynchronous method."""

import pytest
import requests
import stripe

from shared_apps.outbox.models import OutboxMessage
from shared_apps.webhooks.models import WebhookEvent
from tenant_apps.invoices.models import Invoice
from tenant_apps.notifications import dunning as follow_ups
from tenant_apps.payments import intents
from tenant_apps.payments.models import Payment, PaymentNotice
from tests.events import deliver_events
from tests.stripe_sandbox import STRIPE_OBJECTS, connect, deliver, events_of, stripe_event, stripe_object
from tests.tenant_apps.invoices.factories import sent_invoice


def paid_by_card(sandbox, test_tenant) -> tuple[str, Invoice, Payment]:
    """A sent invoice paid through a pay link's Checkout in the sandbox, its events applied."""
    account = connect(test_tenant)
    with test_tenant.schema():
        invoice = sent_invoice(test_tenant.tenant)
        attempt = intents.create_checkout_session(invoice_id=invoice.pk)
    assert requests.post(attempt.checkout_url, data={"outcome": "succeeded"}, timeout=10).status_code == 200
    deliver(events_of(sandbox, "payment_intent.succeeded"))
    with test_tenant.schema():
        payment = Payment.objects.get(invoice_id=invoice.pk)
    return account, invoice, payment


@pytest.mark.parametrize(
    ("kind", "sdk_type"),
    [
        ("dispute", stripe.Dispute),
        ("checkout.session", stripe.checkout.Session),
        ("account", stripe.Account),
        ("refund", stripe.Refund),
        ("payment_intent", stripe.PaymentIntent),
        ("charge", stripe.Charge),
    ],
)
def test_the_test_events_are_what_the_stripe_sdk_parses_as_its_types(kind, sdk_type):
    event = stripe.Event.construct_from(stripe_event("x.y", stripe_object(kind), account="acct_x"), "sk_test_x")

    assert isinstance(event.data.object, sdk_type)
    assert event.account == "acct_x"


def test_the_fixture_dispute_is_an_inquiry_that_names_only_its_charge():
    dispute = STRIPE_OBJECTS["dispute"]

    assert (dispute["payment_intent"], dispute["status"]) == (None, "warning_needs_response")
    assert dispute["charge"].startswith("ch_")


def test_an_inquiry_naming_only_the_charge_flags_the_invoice(stripe_sandbox, tenant_a):
    account, invoice, payment = paid_by_card(stripe_sandbox, tenant_a)
    inquiry = stripe_object("dispute", charge=payment.reference, amount=payment.amount)

    [event] = deliver([stripe_event("charge.dispute.created", inquiry, account=account)])

    assert (event.status, event.last_error) == ("processed", "")
    with tenant_a.schema():
        assert Invoice.objects.get(pk=invoice.pk).disputed_at is not None
        notice = PaymentNotice.objects.get(invoice_id=invoice.pk)
    assert (notice.kind, notice.data["dispute_id"], notice.data["inquiry"]) == ("dispute", inquiry["id"], True)


def test_a_dispute_of_a_charge_this_business_never_recorded_is_kept_for_review(stripe_sandbox, tenant_a):
    account, invoice, _payment = paid_by_card(stripe_sandbox, tenant_a)
    other = stripe_object("dispute", charge="ch_not_ours")

    [event] = deliver([stripe_event("charge.dispute.created", other, account=account)])

    assert event.status == "review"
    with tenant_a.schema():
        assert Invoice.objects.get(pk=invoice.pk).disputed_at is None


def test_disputed_funds_withdrawn_then_reinstated_are_on_the_owners_timeline_once(stripe_sandbox, tenant_a):
    account, invoice, payment = paid_by_card(stripe_sandbox, tenant_a)
    dispute = stripe_object(
        "dispute", charge=payment.reference, amount=payment.amount, status="needs_response", reason="fraudulent"
    )
    withdrawn = stripe_event("charge.dispute.funds_withdrawn", dispute, account=account)
    reinstated = stripe_event("charge.dispute.funds_reinstated", {**dispute, "status": "won"}, account=account)

    events = deliver([withdrawn, withdrawn, reinstated])

    assert [event.status for event in events] == ["processed", "processed", "processed"]
    with tenant_a.schema():
        kinds = sorted(PaymentNotice.objects.filter(invoice_id=invoice.pk).values_list("kind", flat=True))
        assert Invoice.objects.get(pk=invoice.pk).disputed_at is not None  # closed only by charge.dispute.closed
        assert Payment.objects.filter(invoice_id=invoice.pk, kind="refund").count() == 0
    assert kinds == ["dispute_funds_reinstated", "dispute_funds_withdrawn"]


def test_a_sandbox_inquiry_names_only_the_charge_and_its_closing_clears_the_flag(stripe_sandbox, tenant_a):
    _account, invoice, payment = paid_by_card(stripe_sandbox, tenant_a)
    inquiry = stripe_sandbox.dispute(payment_intent_id=payment.provider_id, inquiry=True)
    deliver(events_of(stripe_sandbox, "charge.dispute.created"))
    with tenant_a.schema():
        flagged = Invoice.objects.get(pk=invoice.pk).disputed_at

    stripe_sandbox.close_dispute(dispute_id=inquiry["id"], won=True)
    deliver(events_of(stripe_sandbox, "charge.dispute.closed"))

    assert (inquiry["payment_intent"], inquiry["status"]) == (None, "warning_needs_response")
    assert events_of(stripe_sandbox, "charge.dispute.funds_withdrawn") == []
    assert flagged is not None
    with tenant_a.schema():
        assert Invoice.objects.get(pk=invoice.pk).disputed_at is None
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID


# Checkout with an asynchronous method (a bank debit): completed `unpaid`, settled later


def checkout_processing(sandbox, test_tenant) -> tuple[str, Invoice, dict]:
    account = connect(test_tenant)
    with test_tenant.schema():
        invoice = sent_invoice(test_tenant.tenant)
        attempt = intents.create_checkout_session(invoice_id=invoice.pk)
    answer = requests.post(attempt.checkout_url, data={"outcome": "processing"}, timeout=10)
    assert answer.status_code == 200
    return account, invoice, answer.json()["session"]


def session_event(event_type: str, session: dict, *, account: str, payment_status: str) -> dict:
    whole = stripe_object(
        "checkout.session",
        id=session["id"],
        payment_intent=session["payment_intent"],
        metadata=session["metadata"],
        client_reference_id=session["client_reference_id"],
        amount_total=session["amount_total"],
        currency=session["currency"],
        status="complete",
        payment_status=payment_status,
    )
    return stripe_event(event_type, whole, account=account)


def test_a_completed_session_that_is_unpaid_records_nothing_yet(stripe_sandbox, tenant_a):
    account, invoice, session = checkout_processing(stripe_sandbox, tenant_a)

    asked_before = len(stripe_sandbox.requests)

    [event] = deliver([session_event("checkout.session.completed", session, account=account, payment_status="unpaid")])

    assert event.status == "processed"
    assert stripe_sandbox.requests[asked_before:] == []  # nothing to settle: Stripe is not asked
    with tenant_a.schema():
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.SENT
        assert not Payment.objects.filter(invoice_id=invoice.pk).exists()


def test_async_payment_succeeded_pays_the_invoice(stripe_sandbox, tenant_a):
    account, invoice, session = checkout_processing(stripe_sandbox, tenant_a)
    stripe_sandbox.settle_async_payment(session_id=session["id"], succeeded=True)
    succeeded = session_event(
        "checkout.session.async_payment_succeeded", session, account=account, payment_status="paid"
    )

    [event] = deliver([succeeded])  # the only event delivered: payment_intent.succeeded was lost

    assert event.status == "processed"
    with tenant_a.schema():
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID
        assert Payment.objects.get(invoice_id=invoice.pk).provider_id == session["payment_intent"]


def test_async_payment_failed_tells_the_owner_and_texts_the_pay_link(stripe_sandbox, tenant_a):
    account, invoice, session = checkout_processing(stripe_sandbox, tenant_a)
    stripe_sandbox.settle_async_payment(session_id=session["id"], succeeded=False)
    failed = session_event("checkout.session.async_payment_failed", session, account=account, payment_status="unpaid")

    [event] = deliver([failed])

    assert event.status == "processed"
    with tenant_a.schema():
        notice = PaymentNotice.objects.get(invoice_id=invoice.pk)
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.SENT
    assert (notice.kind, notice.data["payment_intent_id"]) == ("payment_failed", session["payment_intent"])
    deliver_events()  # payment.failed reaches notifications
    [job] = OutboxMessage.objects.filter(actor_name=follow_ups.FOLLOW_UP_ACTOR)
    assert job.kwargs["send_key"] == f"payment-failed:{notice.pk}"


def test_the_sandbox_sends_the_async_events_as_stripe_does(stripe_sandbox, tenant_a):
    _account, _invoice, session = checkout_processing(stripe_sandbox, tenant_a)

    stripe_sandbox.settle_async_payment(session_id=session["id"], succeeded=True)

    [completed] = events_of(stripe_sandbox, "checkout.session.completed")
    [settled] = events_of(stripe_sandbox, "checkout.session.async_payment_succeeded")
    assert completed["data"]["object"]["payment_status"] == "unpaid"
    assert settled["data"]["object"]["payment_status"] == "paid"
    assert WebhookEvent.objects.filter(provider="stripe", dedupe_key=settled["id"]).count() == 0
