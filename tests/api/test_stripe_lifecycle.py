"""What happens on Stripe's side after the fact: the business disconnects our platform, an
event of the other mode arrives, a refund fails after it succeeded. Through the real SDK
against the sandbox; events signed with Stripe's real algorithm (tests/stripe_sandbox.py)."""

import json

import pytest
import requests
import stripe
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from shared_apps.errors import Conflict
from shared_apps.outbox.models import OutboxMessage
from shared_apps.webhooks.models import ProviderRoute, WebhookEvent
from shared_apps.webhooks.services import PROCESS_ACTOR, process_webhook_event
from tenant_apps.invoices.models import Invoice
from tenant_apps.payments import refunds
from tenant_apps.payments.models import CardRefund, Payment, PaymentNotice, StripeAccount
from tests.isolation import assert_refused
from tests.stripe_sandbox import connect, deliver, events_of, follow_link, post_event
from tests.tenant_apps.invoices.factories import sent_invoice


def paid_invoice(sandbox, test_tenant, *, method: str = "pm_card_visa") -> tuple[Invoice, str, int]:
    """A sent invoice paid by card, its events delivered: (invoice, intent id, ledger row id)."""
    account = connect(test_tenant)
    with test_tenant.schema():
        invoice = sent_invoice(test_tenant.tenant)
    body = test_tenant.api().post("/payments/create-intent", {"invoice_id": invoice.pk}).json()
    stripe.StripeClient("sk_test_browser", base_addresses={"api": sandbox.base_url}).v1.payment_intents.confirm(
        body["payment_intent_id"], params={"payment_method": method}, options={"stripe_account": account}
    )
    deliver(events_of(sandbox, "payment_intent.succeeded"))
    with test_tenant.schema():
        payment = Payment.objects.get(provider_id=body["payment_intent_id"])
    return invoice, body["payment_intent_id"], payment.pk


def sandbox_action(sandbox, object_id: str, action: str) -> dict:
    response = requests.post(f"{sandbox.base_url}/sandbox/{object_id}/{action}", timeout=10)
    assert response.status_code == 200, response.content
    return response.json()


# The business disconnects our platform


def test_a_deauthorized_account_is_shown_disconnected_and_takes_no_payments(stripe_sandbox, tenant_a, api_host):
    invoice, _intent, _ = paid_invoice(stripe_sandbox, tenant_a)
    account = connect(tenant_a)
    with tenant_a.schema():
        unpaid = sent_invoice(tenant_a.tenant)
    pay_link = tenant_a.api().post(f"/invoices/{unpaid.pk}/pay-link").json()

    sandbox_action(stripe_sandbox, account, "deauthorize")
    [stored] = deliver(events_of(stripe_sandbox, "account.application.deauthorized"))
    state = tenant_a.api().get("/payments/connect").json()
    intent = tenant_a.api().post("/payments/create-intent", {"invoice_id": unpaid.pk})
    link = tenant_a.api().post(f"/invoices/{unpaid.pk}/pay-link")
    followed = follow_link(pay_link["pay_url"])

    assert (stored.tenant_id, stored.status) == (tenant_a.tenant.pk, WebhookEvent.Status.PROCESSED)
    assert (state["account_id"], state["connected"], state["charges_enabled"]) == (account, False, False)
    assert state["disconnected_at"] is not None
    assert assert_refused(intent, 409)["errors"][0]["code"] == "stripe_not_connected"
    assert assert_refused(link, 409)["errors"][0]["code"] == "stripe_not_connected"
    assert followed.status_code == 409 and b"cannot take card payments" in followed.content
    assert ProviderRoute.objects.filter(provider="stripe", external_id=account, tenant=tenant_a.tenant).exists()
    with tenant_a.schema():
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID


def test_events_of_a_disconnected_account_still_reach_its_tenant_only(stripe_sandbox, tenant_a, tenant_b):
    invoice, intent_id, _ = paid_invoice(stripe_sandbox, tenant_a)
    account = connect(tenant_a)
    connect(tenant_b)
    sandbox_action(stripe_sandbox, account, "deauthorize")
    deliver(events_of(stripe_sandbox, "account.application.deauthorized"))
    stripe_sandbox.dispute(payment_intent_id=intent_id)  # Stripe still tells the platform
    late_update = {**events_of(stripe_sandbox, "account.updated")[0], "id": "evt_late_account_updated"}

    stored = deliver([*events_of(stripe_sandbox, "charge.dispute.created"), late_update])

    assert [(e.tenant_id, e.status) for e in stored] == [(tenant_a.tenant.pk, WebhookEvent.Status.PROCESSED)] * 2
    with tenant_a.schema():
        assert Invoice.objects.get(pk=invoice.pk).disputed_at is not None
        assert StripeAccount.objects.get(account_id=account).disconnected_at is not None
    with tenant_b.schema():
        assert not PaymentNotice.objects.exists()


def test_the_owner_connects_again_with_a_new_account(stripe_sandbox, tenant_a):
    old = connect(tenant_a)
    sandbox_action(stripe_sandbox, old, "deauthorize")
    deliver(events_of(stripe_sandbox, "account.application.deauthorized"))
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)

    started = tenant_a.api().post("/payments/connect", {})
    again = tenant_a.api().post("/payments/connect", {})
    requests.get(again.json()["url"], allow_redirects=False, timeout=10)  # the owner completes onboarding
    deliver(events_of(stripe_sandbox, "account.updated"))
    state = tenant_a.api().get("/payments/connect").json()
    intent = tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk})

    assert started.status_code == again.status_code == 200
    assert state["connected"] is True and state["account_id"] not in (None, old)
    assert state["disconnected_at"] is None
    assert intent.status_code == 200 and intent.json()["stripe_account"] == state["account_id"]
    assert len([r for r in stripe_sandbox.requests if r["path"] == "/v1/accounts"]) == 2
    routes = ProviderRoute.objects.filter(provider="stripe", tenant=tenant_a.tenant)
    assert sorted(routes.values_list("external_id", flat=True)) == sorted([old, state["account_id"]])


def test_a_new_accounts_first_event_arriving_before_its_route_is_processed_once_the_route_exists(
    stripe_sandbox, committed_tenant
):
    answers: list[int] = []

    def deliver_now(event: dict) -> None:  # in the sandbox's thread, on a connection of its own
        answers.append(post_event(event).status_code)
        connection.close()

    stripe_sandbox.deliver = deliver_now  # type: ignore[method-assign]
    stripe_sandbox.deliver_before_answering = True

    account = connect(committed_tenant, onboard=False)
    [event] = WebhookEvent.objects.filter(provider="stripe", tenant=committed_tenant.tenant)
    process_webhook_event(event_id=event.pk)  # the job queued when the route appeared
    event.refresh_from_db()

    assert answers == [200]
    assert event.route_candidates == [["account", account]]
    assert (event.tenant_id, event.status, event.last_error) == (committed_tenant.tenant.pk, "processed", "")
    assert OutboxMessage.objects.filter(actor_name=PROCESS_ACTOR, kwargs__event_id=event.pk).exists()


def test_a_deauthorization_delivered_twice_disconnects_once(stripe_sandbox, tenant_a):
    account = connect(tenant_a)
    sandbox_action(stripe_sandbox, account, "deauthorize")
    [event] = events_of(stripe_sandbox, "account.application.deauthorized")
    deliver([event])
    with tenant_a.schema():
        first = StripeAccount.objects.get(account_id=account).disconnected_at

    deliver([event, {**event, "id": "evt_deauthorized_again"}])

    with tenant_a.schema():
        assert StripeAccount.objects.get(account_id=account).disconnected_at == first


def test_a_refund_waiting_for_stripe_fails_once_the_account_is_disconnected(stripe_sandbox, tenant_a):
    _invoice, _intent, payment_id = paid_invoice(stripe_sandbox, tenant_a)
    account = connect(tenant_a)
    with tenant_a.schema():  # asked while Stripe was away: the job will ask again
        waiting = CardRefund.objects.create(payment_id=payment_id, amount=100)
    sandbox_action(stripe_sandbox, account, "deauthorize")
    deliver(events_of(stripe_sandbox, "account.application.deauthorized"))

    with tenant_a.schema():
        with pytest.raises(Conflict) as refused:
            refunds.submit_card_refund(refund_id=waiting.pk)
        waiting.refresh_from_db()

    assert refused.value.code == "stripe_not_connected"
    assert waiting.status == CardRefund.Status.FAILED
    with tenant_a.schema():
        notice = PaymentNotice.objects.get(kind="refund_failed")
    assert notice.data["failure_reason"] == "account_disconnected"
    assert not [r for r in stripe_sandbox.requests if r["path"] == "/v1/refunds"]


def test_a_business_has_at_most_one_connected_account(stripe_sandbox, tenant_a):
    connect(tenant_a)

    with tenant_a.schema(), pytest.raises(IntegrityError), transaction.atomic():
        StripeAccount.objects.create(account_id="acct_second")


# Live and test mode


@pytest.mark.parametrize(
    ("key", "livemode"),
    [
        pytest.param("", True, id="live event, sandbox key"),
        pytest.param("sk_live_ours", False, id="test event, live key"),
    ],
)
def test_an_event_of_the_other_mode_is_kept_for_review_and_changes_nothing(stripe_sandbox, tenant_a, key, livemode):
    account = connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
    body = tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk}).json()
    stripe.StripeClient("sk_test_browser", base_addresses={"api": stripe_sandbox.base_url}).v1.payment_intents.confirm(
        body["payment_intent_id"], params={"payment_method": "pm_card_visa"}, options={"stripe_account": account}
    )
    [succeeded] = events_of(stripe_sandbox, "payment_intent.succeeded")
    calls_before = len(stripe_sandbox.requests)

    with override_settings(STRIPE_SECRET_KEY=key):
        [stored] = deliver([{**succeeded, "livemode": livemode}])

    assert (stored.tenant_id, stored.status) == (tenant_a.tenant.pk, WebhookEvent.Status.REVIEW)
    assert "mode" in stored.last_error
    assert len(stripe_sandbox.requests) == calls_before
    with tenant_a.schema():
        assert not Payment.objects.exists()
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.SENT


def test_an_event_of_our_mode_is_applied(stripe_sandbox, tenant_a):
    invoice, _intent, _ = paid_invoice(stripe_sandbox, tenant_a)  # sandbox events are livemode false

    with tenant_a.schema():
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID


# A refund that fails after it succeeded


def test_a_refund_that_is_pending_first_reaches_the_ledger_once_it_succeeds(stripe_sandbox, tenant_a):
    invoice, _intent, payment_id = paid_invoice(stripe_sandbox, tenant_a, method="pm_card_pendingRefund")

    refunded = tenant_a.api().post(f"/payments/{payment_id}/refund", {}).json()
    deliver(events_of(stripe_sandbox, "refund.created", "charge.refunded"))
    with tenant_a.schema():
        pending_rows = Payment.objects.filter(invoice_id=invoice.pk, kind="refund").count()
    sandbox_action(stripe_sandbox, refunded["refund"]["refund_id"], "settle")
    deliver(events_of(stripe_sandbox, "refund.updated"))
    shown = tenant_a.api().get(f"/invoices/{invoice.pk}").json()

    assert (refunded["refund"]["status"], refunded["invoice"]["status"]) == ("pending", "PAID")
    assert pending_rows == 0
    assert (shown["status"], shown["amount_paid"]) == ("SENT", 0)
    with tenant_a.schema():
        assert CardRefund.objects.get(pk=refunded["refund"]["id"]).status == "succeeded"
        assert Payment.objects.filter(invoice_id=invoice.pk, kind="refund").count() == 1


def test_a_refund_that_fails_later_puts_the_money_back_and_can_be_refunded_again(stripe_sandbox, tenant_a):
    invoice, _intent, payment_id = paid_invoice(stripe_sandbox, tenant_a)
    refunded = tenant_a.api().post(f"/payments/{payment_id}/refund", {}).json()
    deliver(events_of(stripe_sandbox, "refund.created", "charge.refunded"))
    assert refunded["invoice"]["status"] == "SENT"

    sandbox_action(stripe_sandbox, refunded["refund"]["refund_id"], "fail")
    failed_events = events_of(stripe_sandbox, "refund.updated", "refund.failed")
    stored = deliver(failed_events)
    deliver([{**event, "id": f"{event['id']}_again"} for event in failed_events])
    shown = tenant_a.api().get(f"/invoices/{invoice.pk}").json()
    history = tenant_a.api().get(f"/customers/{invoice.customer_id}/history").json()["items"]

    assert {e.status for e in stored} == {WebhookEvent.Status.PROCESSED}
    assert (shown["status"], shown["amount_paid"], shown["amount_due"]) == ("PAID", invoice.total, 0)
    with tenant_a.schema():
        card_refund = CardRefund.objects.get(pk=refunded["refund"]["id"])
        rows = sorted(Payment.objects.filter(invoice_id=invoice.pk).values_list("kind", "amount"))
        [notice] = PaymentNotice.objects.filter(invoice_id=invoice.pk)
    assert (card_refund.status, card_refund.last_error) == ("failed", "Stripe: expired_or_canceled_card")
    assert rows == [("payment", invoice.total), ("refund", invoice.total), ("reversal", invoice.total)]
    assert (notice.kind, notice.data["failure_reason"]) == ("refund_failed", "expired_or_canceled_card")
    assert "refund_failed" in [entry["status"] for entry in history if entry["kind"] == "payment_notice"]

    again = tenant_a.api().post(f"/payments/{payment_id}/refund", {})

    assert again.status_code == 201, again.content
    assert (again.json()["refund"]["status"], again.json()["invoice"]["status"]) == ("succeeded", "SENT")


def test_a_failed_refund_delivered_before_its_creation_releases_it_once(stripe_sandbox, tenant_a):
    invoice, _intent, payment_id = paid_invoice(stripe_sandbox, tenant_a)
    refunded = tenant_a.api().post(f"/payments/{payment_id}/refund", {"amount": 300}).json()
    sandbox_action(stripe_sandbox, refunded["refund"]["refund_id"], "fail")

    deliver(events_of(stripe_sandbox, "refund.failed"))
    deliver(events_of(stripe_sandbox, "refund.created", "charge.refunded", "refund.updated"))

    with tenant_a.schema():
        paid = Invoice.objects.get(pk=invoice.pk)
        reversals = Payment.objects.filter(invoice_id=invoice.pk, kind="reversal").count()
    assert (paid.status, paid.amount_paid, reversals) == (Invoice.Status.PAID, invoice.total, 1)


def test_a_refund_failed_event_of_tenant_bs_account_touches_nothing_of_a(stripe_sandbox, tenant_a, tenant_b):
    invoice, _intent, payment_id = paid_invoice(stripe_sandbox, tenant_a)
    refunded = tenant_a.api().post(f"/payments/{payment_id}/refund", {}).json()
    account_b = connect(tenant_b)
    sandbox_action(stripe_sandbox, refunded["refund"]["refund_id"], "fail")
    [failed] = events_of(stripe_sandbox, "refund.failed")

    [stored] = deliver([{**failed, "id": "evt_refund_failed_in_b", "account": account_b}])

    assert (stored.tenant_id, stored.status) == (tenant_b.tenant.pk, WebhookEvent.Status.REVIEW)
    assert "not on account" in stored.last_error
    with tenant_a.schema():
        assert CardRefund.objects.get(pk=refunded["refund"]["id"]).status == "succeeded"
        assert Invoice.objects.get(pk=invoice.pk).amount_paid == 0
    with tenant_b.schema():
        assert not Payment.objects.exists()


def test_the_sandbox_refuses_an_action_on_an_unknown_object(stripe_sandbox):
    response = requests.post(f"{stripe_sandbox.base_url}/sandbox/re_nothing/fail", timeout=10)

    assert response.status_code == 404
    assert json.loads(response.content)["error"]["type"] == "invalid_request_error"


def test_a_payment_made_on_a_disconnected_account_is_not_refunded_on_the_new_one(stripe_sandbox, tenant_a):
    _invoice, _intent, payment_id = paid_invoice(stripe_sandbox, tenant_a)
    old = connect(tenant_a)
    sandbox_action(stripe_sandbox, old, "deauthorize")
    deliver(events_of(stripe_sandbox, "account.application.deauthorized"))
    connect(tenant_a)

    response = tenant_a.api().post(f"/payments/{payment_id}/refund", {})

    assert assert_refused(response, 409)["errors"][0]["code"] == "stripe_not_connected"
    assert not [r for r in stripe_sandbox.requests if r["path"] == "/v1/refunds"]
    with tenant_a.schema():
        assert not CardRefund.objects.exists()


# A dispute closed


def disputed_invoice(sandbox, test_tenant) -> tuple[Invoice, int, dict]:
    invoice, intent_id, payment_id = paid_invoice(sandbox, test_tenant)
    dispute = sandbox_action(sandbox, intent_id, "dispute")
    deliver(events_of(sandbox, "charge.dispute.created"))
    return invoice, payment_id, dispute


def test_a_won_dispute_clears_the_flag_and_keeps_the_money(stripe_sandbox, tenant_a):
    invoice, _payment_id, dispute = disputed_invoice(stripe_sandbox, tenant_a)
    assert tenant_a.api().get(f"/invoices/{invoice.pk}").json()["disputed_at"] is not None

    sandbox_action(stripe_sandbox, dispute["id"], "win")
    [stored] = deliver(events_of(stripe_sandbox, "charge.dispute.closed"))
    shown = tenant_a.api().get(f"/invoices/{invoice.pk}").json()

    assert stored.status == WebhookEvent.Status.PROCESSED
    assert (shown["disputed_at"], shown["status"], shown["amount_paid"]) == (None, "PAID", invoice.total)
    with tenant_a.schema():
        notice = PaymentNotice.objects.get(kind="dispute_closed")
        assert not Payment.objects.filter(invoice_id=invoice.pk, kind="refund").exists()
    assert notice.data["status"] == "won"


def test_a_lost_dispute_leaves_the_ledger_like_a_refund_once(stripe_sandbox, tenant_a):
    invoice, payment_id, dispute = disputed_invoice(stripe_sandbox, tenant_a)

    sandbox_action(stripe_sandbox, dispute["id"], "lose")
    [closed] = events_of(stripe_sandbox, "charge.dispute.closed")
    deliver([closed, {**closed, "id": f"{closed['id']}_again"}])
    shown = tenant_a.api().get(f"/invoices/{invoice.pk}").json()
    refund = tenant_a.api().post(f"/payments/{payment_id}/refund", {})

    assert (shown["disputed_at"], shown["status"], shown["amount_paid"]) == (None, "SENT", 0)
    with tenant_a.schema():
        rows = sorted(Payment.objects.filter(invoice_id=invoice.pk).values_list("kind", "amount", "provider_id"))
        notice = PaymentNotice.objects.get(kind="dispute_closed")
    assert rows == [
        ("payment", invoice.total, stripe_sandbox.objects[dispute["id"]]["payment_intent"]),
        ("refund", invoice.total, dispute["id"]),
    ]
    assert notice.data["status"] == "lost"
    assert assert_refused(refund, 409)["errors"][0]["code"] == "refund_exceeds_paid"


def test_a_closed_event_for_a_dispute_still_open_changes_nothing(stripe_sandbox, tenant_a):
    invoice, _payment_id, dispute = disputed_invoice(stripe_sandbox, tenant_a)
    [created] = events_of(stripe_sandbox, "charge.dispute.created")
    early = {**created, "id": "evt_closed_too_early", "type": "charge.dispute.closed"}

    [stored] = deliver([early])

    assert stored.status == WebhookEvent.Status.PROCESSED
    assert tenant_a.api().get(f"/invoices/{invoice.pk}").json()["disputed_at"] is not None
    assert stripe_sandbox.objects[dispute["id"]]["status"] == "needs_response"


def test_a_dispute_closed_event_of_tenant_bs_account_touches_nothing_of_a(stripe_sandbox, tenant_a, tenant_b):
    invoice, _payment_id, dispute = disputed_invoice(stripe_sandbox, tenant_a)
    account_b = connect(tenant_b)
    sandbox_action(stripe_sandbox, dispute["id"], "lose")
    [closed] = events_of(stripe_sandbox, "charge.dispute.closed")

    [stored] = deliver([{**closed, "id": "evt_dispute_lost_in_b", "account": account_b}])

    assert (stored.tenant_id, stored.status) == (tenant_b.tenant.pk, WebhookEvent.Status.REVIEW)
    with tenant_a.schema():
        assert Invoice.objects.get(pk=invoice.pk).amount_paid == invoice.total
