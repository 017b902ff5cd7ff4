"""Stripe's webhook: signatures (real algorithm), storage once, tenant routing by connected
account only, and what each event does to the ledger, in order or not."""

import contextlib
import json
import time
from datetime import UTC, datetime

import httpx
import pytest
import respx
import stripe
from django.conf import settings
from django.test import Client, override_settings
from django.test.client import BOUNDARY, encode_multipart

from shared_apps.outbox.models import OutboxMessage
from shared_apps.webhooks.models import WebhookEvent
from shared_apps.webhooks.services import process_webhook_event
from tenant_apps.customers.models import Customer
from tenant_apps.invoices.models import Invoice
from tenant_apps.notifications import dunning as follow_ups
from tenant_apps.payments import gateway, intents, pay_links, refunds
from tenant_apps.payments.models import CardPayment, Payment, PaymentNotice
from tenant_apps.payments.reconcile import reconcile_stripe_payments
from tenant_apps.payments.services import record_manual_payment
from tenant_apps.sms.models import AutomaticText, Message
from tests.concurrency import run_at_once
from tests.events import deliver_events
from tests.isolation import assert_refused
from tests.stripe_sandbox import (
    WEBHOOK_PATH,
    connect,
    deliver,
    events_of,
    post_event,
    signature,
    stripe_event,
    stripe_object,
)
from tests.tenant_apps.invoices.factories import sent_invoice
from tests.tenant_apps.sms import fixtures

sender = fixtures.sender


def pay(sandbox, test_tenant, *, method: str = "pm_card_visa", invoice: Invoice | None = None):
    """A sent invoice of `test_tenant` paid by card in the sandbox (events kept, not sent)."""
    account = connect(test_tenant)
    with test_tenant.schema():
        invoice = invoice or sent_invoice(test_tenant.tenant)
        attempt = intents.create_payment_intent(invoice_id=invoice.pk)
    client = stripe.StripeClient("sk_test_browser", base_addresses={"api": sandbox.base_url})
    with contextlib.suppress(stripe.CardError):  # a declined card: its events are kept all the same
        client.v1.payment_intents.confirm(
            attempt.payment_intent_id, params={"payment_method": method}, options={"stripe_account": account}
        )
    return invoice, attempt


def event_like(event_type: str, obj: dict, *, account: str) -> dict:
    """A whole event carrying a whole object (Stripe's published fixture of its kind) with
    `obj`'s fields."""
    return stripe_event(event_type, stripe_object(obj["object"], **obj), account=account)


# Signatures


def a_stored_event() -> dict:
    return {"id": "evt_signature_test", "object": "event", "type": "payment_intent.succeeded", "account": "acct_x"}


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(lambda p: signature(p, secret="whsec_not_ours"), id="other secret"),
        pytest.param(lambda p: signature(p, timestamp=int(time.time()) - 301), id="stale"),
        pytest.param(lambda p: signature(p, timestamp=int(time.time()) + 600), id="10 minutes ahead"),
        pytest.param(lambda p: signature(p, timestamp=int(time.time()) + 3600), id="1 hour ahead"),
        pytest.param(lambda p: signature(p, timestamp=int(time.time()) + 10 * 365 * 86400), id="10 years ahead"),
        pytest.param(lambda p: "t=abc," + signature(p).split(",", 1)[1], id="no timestamp"),
        pytest.param(lambda p: signature(p + " "), id="other body"),
        pytest.param(lambda p: "t=1,v0=abc", id="no v1"),
        pytest.param(lambda p: "", id="empty"),
    ],
)
def test_forged_stale_or_unsigned_events_are_400_and_nothing_is_stored(db, header):
    payload = json.dumps(a_stored_event())

    response = post_event(payload, sig=header(payload))

    assert_refused(response, 400)
    assert not WebhookEvent.objects.filter(provider="stripe").exists()


def test_a_signature_a_little_ahead_of_our_clock_is_accepted(db):
    response = post_event(a_stored_event(), timestamp=int(time.time()) + 60)  # clocks drift

    assert response.status_code == 200


def test_an_unsigned_event_is_400_and_nothing_is_stored(db):
    assert_refused(post_event(a_stored_event(), sig=None), 400)
    assert not WebhookEvent.objects.filter(provider="stripe").exists()


@pytest.mark.parametrize("size", [10, settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1])
def test_a_form_body_is_refused_on_its_raw_bytes_never_a_500(db, size):
    """Form fields are checked before the view (NUL characters), which must leave the raw body
    readable for the signature; a multipart body too large to keep is parsed as a stream."""
    body = encode_multipart(BOUNDARY, {"note": "x" * size})
    response = Client(raise_request_exception=False).post(
        WEBHOOK_PATH,
        body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        HTTP_HOST=settings.BASE_DOMAIN,
        HTTP_STRIPE_SIGNATURE=signature(body.decode()),
    )

    assert_refused(response, 400 if size == 10 else 413)
    assert not WebhookEvent.objects.filter(provider="stripe").exists()


@override_settings(
    STRIPE_CONNECT_WEBHOOK_SECRET="whsec_new_connect",
    STRIPE_CONNECT_WEBHOOK_SECRET_PREVIOUS="whsec_old_connect",
    STRIPE_WEBHOOK_SECRET="whsec_account",
)
@pytest.mark.parametrize("secret", ["whsec_new_connect", "whsec_old_connect", "whsec_account"])
def test_every_configured_secret_verifies_during_rotation(db, secret):
    response = post_event(a_stored_event(), secret=secret)

    assert response.status_code == 200
    [event] = WebhookEvent.objects.filter(provider="stripe")
    assert (event.dedupe_key, event.status, event.tenant_id) == ("evt_signature_test", "unrouted", None)


def test_a_header_with_an_old_and_a_new_signature_verifies(db):
    payload = json.dumps(a_stored_event())
    old = signature(payload, secret="whsec_rolled_away").split(",")[1]

    response = post_event(payload, sig=f"{signature(payload)},{old}")

    assert response.status_code == 200


# The ledger from events


def test_the_same_event_delivered_ten_times_at_once_makes_one_payment(stripe_sandbox, committed_tenant):
    invoice, attempt = pay(stripe_sandbox, committed_tenant)
    [succeeded] = events_of(stripe_sandbox, "payment_intent.succeeded")
    payload = json.dumps(succeeded)
    header = signature(payload)

    responses = run_at_once([lambda: post_event(payload, sig=header)] * 10)
    [stored] = WebhookEvent.objects.filter(provider="stripe", dedupe_key=succeeded["id"])
    run_at_once([lambda: process_webhook_event(event_id=stored.pk)] * 3)

    assert [response.status_code for response in responses] == [200] * 10
    assert stored.tenant_id == committed_tenant.tenant.pk
    with committed_tenant.schema():
        payments = list(Payment.objects.filter(invoice_id=invoice.pk))
        paid = Invoice.objects.get(pk=invoice.pk)
    assert [(p.amount, p.provider_id) for p in payments] == [(invoice.total, attempt.payment_intent_id)]
    assert (paid.status, paid.amount_paid) == (Invoice.Status.PAID, invoice.total)


def test_succeeded_and_checkout_completed_for_one_intent_make_one_payment(stripe_sandbox, tenant_a):
    connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
        attempt = intents.create_checkout_session(invoice_id=invoice.pk)
    assert __import__("requests").post(attempt.checkout_url, data={"outcome": "succeeded"}, timeout=10).ok

    deliver(events_of(stripe_sandbox, "checkout.session.completed", "payment_intent.succeeded"))

    with tenant_a.schema():
        assert Payment.objects.filter(invoice_id=invoice.pk).count() == 1
        assert CardPayment.objects.get(pk=attempt.pk).status == CardPayment.Status.SUCCEEDED


def test_a_refund_delivered_before_its_payment_leaves_the_right_balance(stripe_sandbox, tenant_a):
    invoice, attempt = pay(stripe_sandbox, tenant_a)
    account = connect(tenant_a)
    stripe.StripeClient("sk_test_dashboard", base_addresses={"api": stripe_sandbox.base_url}).v1.refunds.create(
        params={"payment_intent": attempt.payment_intent_id, "amount": 500}, options={"stripe_account": account}
    )

    refund_events = deliver(events_of(stripe_sandbox, "refund.created", "charge.refunded"))
    late_success = deliver(events_of(stripe_sandbox, "payment_intent.succeeded"))

    assert {e.status for e in refund_events + late_success} == {"processed"}
    with tenant_a.schema():
        rows = sorted(Payment.objects.filter(invoice_id=invoice.pk).values_list("kind", "amount"))
        after = Invoice.objects.get(pk=invoice.pk)
    assert rows == [("payment", invoice.total), ("refund", 500)]
    assert (after.amount_paid, after.amount_due, after.status) == (invoice.total - 500, 500, "PARTIALLY_PAID")


def test_an_event_naming_tenant_a_but_carrying_tenant_bs_account_touches_nothing_of_a(
    stripe_sandbox, tenant_a, tenant_b
):
    invoice, _attempt = pay(stripe_sandbox, tenant_a)
    account_b = connect(tenant_b)
    [real] = events_of(stripe_sandbox, "payment_intent.succeeded")
    forged_intent = {**real["data"]["object"], "id": "pi_forged_in_b"}
    forged = event_like("payment_intent.succeeded", forged_intent, account=account_b)
    stripe_sandbox.objects["pi_forged_in_b"] = {**forged_intent, "_account": account_b}

    [stored] = deliver([forged])

    assert (stored.tenant_id, stored.status) == (tenant_b.tenant.pk, WebhookEvent.Status.REVIEW)
    assert "names business" in stored.last_error
    with tenant_a.schema():
        assert not Payment.objects.filter(invoice_id=invoice.pk).exists()
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.SENT
    with tenant_b.schema():
        assert not Payment.objects.exists()


def test_an_event_of_an_account_nobody_connected_is_stored_unrouted(db):
    event = {**a_stored_event(), "id": "evt_unknown_account", "account": "acct_nobody"}

    response = post_event(event)

    assert response.status_code == 200
    stored = WebhookEvent.objects.get(dedupe_key="evt_unknown_account")
    assert (stored.status, stored.tenant_id) == (WebhookEvent.Status.UNROUTED, None)
    assert not OutboxMessage.objects.filter(kwargs__event_id=stored.pk).exists()


def test_a_declined_card_is_on_the_timeline_and_texts_the_pay_link(stripe_sandbox, sender):
    tenant_a = sender
    invoice, _attempt = pay(stripe_sandbox, tenant_a, method="pm_card_chargeDeclined")

    deliver(events_of(stripe_sandbox, "payment_intent.payment_failed"))
    deliver_events()  # payment.failed reaches notifications
    [job] = OutboxMessage.objects.filter(actor_name=follow_ups.FOLLOW_UP_ACTOR)
    with tenant_a.schema():
        notice = PaymentNotice.objects.get(invoice_id=invoice.pk)
        follow_ups.send_payment_follow_up(
            tenant_id=tenant_a.tenant.pk,
            kind=job.kwargs["kind"],
            invoice_id=job.kwargs["invoice_id"],
            send_key=job.kwargs["send_key"],
            now=datetime(2026, 6, 1, 12, tzinfo=UTC),
        )
        [text] = Message.objects.filter(customer_id=invoice.customer_id)
    history = tenant_a.api().get(f"/customers/{invoice.customer_id}/history").json()

    assert (notice.kind, notice.data["decline_code"]) == ("payment_failed", "generic_decline")
    with tenant_a.schema():
        assert pay_links.pay_url(invoice_id=invoice.pk) in text.body
    assert "payment_notice" in [entry["kind"] for entry in history["items"]]


def test_an_opted_out_customer_gets_no_follow_up_text(stripe_sandbox, sender):
    tenant_a = sender
    invoice, _ = pay(stripe_sandbox, tenant_a, method="pm_card_chargeDeclined")
    with tenant_a.schema():
        Customer.objects.filter(pk=invoice.customer_id).update(sms_opt_out=True)

    deliver(events_of(stripe_sandbox, "payment_intent.payment_failed"))
    deliver_events()  # payment.failed reaches notifications
    [job] = OutboxMessage.objects.filter(actor_name=follow_ups.FOLLOW_UP_ACTOR)
    with tenant_a.schema():
        follow_ups.send_payment_follow_up(
            tenant_id=tenant_a.tenant.pk,
            now=datetime(2026, 6, 1, 16, tzinfo=UTC),  # noon in the tenant's zone
            **{k: job.kwargs[k] for k in ("kind", "invoice_id", "send_key")},
        )
        decision = AutomaticText.objects.get(send_key=job.kwargs["send_key"])
        sent = Message.objects.filter(customer_id=invoice.customer_id).exists()

    assert (decision.status, decision.skip_reason, sent) == ("skipped", "opted_out", False)


def test_a_dispute_flags_the_invoice_for_the_owner(stripe_sandbox, tenant_a):
    invoice, attempt = pay(stripe_sandbox, tenant_a)
    deliver(stripe_sandbox.events)
    stripe_sandbox.dispute(payment_intent_id=attempt.payment_intent_id)

    deliver(events_of(stripe_sandbox, "charge.dispute.created"))
    shown = tenant_a.api().get(f"/invoices/{invoice.pk}").json()

    assert shown["disputed_at"] is not None
    with tenant_a.schema():
        assert PaymentNotice.objects.get(invoice_id=invoice.pk).kind == "dispute"


def test_a_card_payment_after_cash_covered_the_invoice_is_kept_as_a_credit(stripe_sandbox, tenant_a):
    connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
    invoice, _attempt = pay(stripe_sandbox, tenant_a, invoice=invoice)
    with tenant_a.schema():
        record_manual_payment(invoice_id=invoice.pk, amount=invoice.total, method="cash")

    deliver(events_of(stripe_sandbox, "payment_intent.succeeded"))
    shown = tenant_a.api().get(f"/invoices/{invoice.pk}").json()

    assert (shown["status"], shown["amount_paid"], shown["credit"]) == ("PAID", 2 * invoice.total, invoice.total)
    with tenant_a.schema():
        notice = PaymentNotice.objects.get(invoice_id=invoice.pk)
        assert Payment.objects.filter(invoice_id=invoice.pk, kind="refund").count() == 0
    assert (notice.kind, notice.data["credit"]) == ("overpayment", invoice.total)


def test_account_updated_keeps_the_connect_state(stripe_sandbox, tenant_a):
    account = connect(tenant_a)
    stripe_sandbox.objects[account].update(charges_enabled=False, requirements={"disabled_reason": "rejected.fraud"})
    event = event_like("account.updated", {"id": account, "object": "account"}, account=account)

    deliver([event])
    state = tenant_a.api().get("/payments/connect").json()

    assert (state["account_id"], state["charges_enabled"]) == (account, False)


# Reconciliation


def test_a_payment_whose_webhook_never_arrived_is_recorded_by_reconciliation(stripe_sandbox, tenant_a):
    invoice, attempt = pay(stripe_sandbox, tenant_a)  # its events are never delivered

    with tenant_a.schema():
        first = reconcile_stripe_payments(tenant=tenant_a.tenant)
        second = reconcile_stripe_payments(tenant=tenant_a.tenant)
        paid = Invoice.objects.get(pk=invoice.pk)

    assert first.recorded == [attempt.payment_intent_id]
    assert second.recorded == []
    assert paid.status == Invoice.Status.PAID
    # The late webhook changes nothing more.
    deliver(events_of(stripe_sandbox, "payment_intent.succeeded"))
    with tenant_a.schema():
        assert Payment.objects.filter(invoice_id=invoice.pk).count() == 1


# Stripe's errors at the transport (respx), through the real SDK


@pytest.fixture
def httpx_stripe(monkeypatch):
    """The SDK on httpx (mocked by respx) instead of requests."""
    real = gateway.stripe_client
    monkeypatch.setattr(gateway, "stripe_client", lambda: real(http_client=stripe.HTTPXClient(allow_sync_methods=True)))


INTENT_JSON = stripe_object(
    "payment_intent",
    id="pi_respx",
    amount=1,
    currency="usd",
    status="requires_payment_method",
    client_secret="pi_respx_secret_x",
    metadata={},
)


def test_429_then_success_reuses_the_same_idempotency_key(stripe_sandbox, tenant_a, httpx_stripe):
    connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
    with respx.mock(base_url=stripe_sandbox.base_url) as mock:
        route = mock.post("/v1/payment_intents").mock(
            side_effect=[
                httpx.Response(429, json={"error": {"type": "invalid_request_error", "code": "rate_limit"}}),
                httpx.Response(200, json=INTENT_JSON),
            ]
        )
        with tenant_a.schema():
            with pytest.raises(Exception) as throttled:
                intents.create_payment_intent(invoice_id=invoice.pk)
            attempt = intents.create_payment_intent(invoice_id=invoice.pk)

    keys = [call.request.headers["Idempotency-Key"] for call in route.calls]
    assert type(throttled.value).__name__ == "ProviderUnavailable"
    assert keys == [f"payment-intent:{tenant_a.tenant.schema_name}:{attempt.pk}"] * 2
    assert attempt.payment_intent_id == "pi_respx"


def test_a_declined_card_answers_409_with_the_decline_code(stripe_sandbox, tenant_a, httpx_stripe):
    connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
    declined = {
        "error": {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
        }
    }
    with respx.mock(base_url=stripe_sandbox.base_url) as mock:
        mock.post("/v1/payment_intents").mock(return_value=httpx.Response(402, json=declined))
        response = tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk})

    body = assert_refused(response, 409)
    assert body["errors"][0]["decline_code"] == "insufficient_funds"
    with tenant_a.schema():
        assert not Payment.objects.exists()


def test_a_5xx_is_retried_by_the_sdk_with_the_same_key(stripe_sandbox, tenant_a, httpx_stripe):
    connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
    with respx.mock(base_url=stripe_sandbox.base_url) as mock:
        route = mock.post("/v1/payment_intents").mock(
            side_effect=[
                httpx.Response(500, json={"error": {"type": "api_error"}}),
                httpx.Response(200, json=INTENT_JSON),
            ]
        )
        with tenant_a.schema():
            attempt = intents.create_payment_intent(invoice_id=invoice.pk)

    assert len({call.request.headers["Idempotency-Key"] for call in route.calls}) == 1
    assert len(route.calls) == 2
    assert attempt.payment_intent_id == "pi_respx"


# Refunds racing


def test_two_full_refunds_at_once_refund_once(stripe_sandbox, committed_tenant):
    invoice, attempt = pay(stripe_sandbox, committed_tenant)
    with committed_tenant.schema():
        payment = intents.record_card_payment(
            attempt=attempt, intent=gateway.as_dict(stripe_sandbox.objects[attempt.payment_intent_id])
        )

    def refund_all():
        return refunds.request_card_refund(payment_id=payment.pk, amount=None, requested_by=None)

    outcomes = run_at_once([refund_all, refund_all], expected=Exception, tenant=committed_tenant.tenant)

    refunded = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refunded) == 1 and refunded[0].status == "succeeded"
    assert [getattr(e, "code", None) for e in refused] == ["refund_exceeds_paid"]
    with committed_tenant.schema():
        assert Invoice.objects.get(pk=invoice.pk).amount_paid == 0
    assert len([r for r in stripe_sandbox.requests if r["path"] == "/v1/refunds"]) == 1
