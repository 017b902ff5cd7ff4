"""Payment events, emitted by the payments services when Stripe's events (verified and
processed by the webhook pipeline, with the real SDK against the sandbox) or a person change
the ledger: once per change, named after the provider that caused it."""

import pytest

from shared_apps.events import services as events
from shared_apps.events.catalogue import event_type
from shared_apps.outbox.models import OutboxMessage
from tenant_apps.payments import services as payments
from tests.api.test_stripe_lifecycle import disputed_invoice, paid_invoice
from tests.api.test_stripe_webhook import pay
from tests.events import emitted
from tests.factories import CustomerFactory
from tests.stripe_sandbox import deliver, events_of
from tests.tenant_apps.invoices.factories import sent_invoice


@pytest.fixture(autouse=True)
def _no_earlier_events(db):
    OutboxMessage.objects.filter(actor_name=events.DELIVER_ACTOR).delete()


def _valid(event) -> bool:
    return event_type(event.type).payload.model_validate(event.as_message()["payload"]) == event.payload


def test_a_card_payment_emits_payment_received_and_invoice_paid_once(stripe_sandbox, tenant_a):
    invoice, _intent_id, payment_id = paid_invoice(stripe_sandbox, tenant_a)
    deliver(events_of(stripe_sandbox, "payment_intent.succeeded"))  # a second delivery records nothing

    [received] = emitted("payment.received")
    [paid] = emitted("invoice.paid")
    assert received.payload.model_dump() == {
        "payment_id": payment_id,
        "invoice_id": invoice.pk,
        "amount": invoice.total,
        "currency": invoice.currency,
        "method": "card",
    }
    assert (received.actor, received.tenant, paid.payload.invoice_id) == (
        "stripe",
        tenant_a.tenant.schema_name,
        invoice.pk,
    )
    assert _valid(received) and _valid(paid)


def test_a_declined_card_emits_payment_failed_once(stripe_sandbox, tenant_a):
    invoice, _attempt = pay(stripe_sandbox, tenant_a, method="pm_card_chargeDeclined")
    failures = events_of(stripe_sandbox, "payment_intent.payment_failed")

    deliver(failures)
    deliver(failures)  # Stripe delivers the same event again

    [failed] = emitted("payment.failed")
    assert (failed.payload.invoice_id, failed.payload.reason, failed.actor) == (invoice.pk, "generic_decline", "stripe")
    assert _valid(failed)


def test_a_dispute_emits_payment_disputed_once(stripe_sandbox, tenant_a):
    invoice, payment_id, dispute = disputed_invoice(stripe_sandbox, tenant_a)
    [created] = events_of(stripe_sandbox, "charge.dispute.created")
    deliver([{**created, "id": f"{created['id']}_again"}])

    [disputed] = emitted("payment.disputed")
    assert (disputed.payload.payment_id, disputed.payload.dispute_id) == (payment_id, dispute["id"])
    assert disputed.payload.invoice_id == invoice.pk
    assert _valid(disputed)


def test_payments_and_refunds_recorded_by_hand_emit_their_events(tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant, customer_id=CustomerFactory().pk)
        OutboxMessage.objects.filter(actor_name=events.DELIVER_ACTOR).delete()
        payment = payments.record_manual_payment(invoice_id=invoice.pk, amount=invoice.total, method="cash")
        refund = payments.record_refund(invoice_id=invoice.pk, amount=100, method="cash")

    assert [event.type for event in emitted()] == ["invoice.paid", "payment.received", "payment.refunded"]
    [received] = emitted("payment.received")
    [refunded] = emitted("payment.refunded")
    assert (received.payload.payment_id, received.payload.method) == (payment.pk, "cash")
    assert (refunded.payload.refund_id, refunded.payload.payment_id, refunded.payload.amount) == (refund.pk, None, 100)
    assert all(_valid(event) for event in emitted())
