"""Card payments through the API: Connect, create-intent, pay links, the ledger list and
refunds, against the Stripe sandbox through the real SDK; plus each route's tenant isolation."""

import json
from decimal import Decimal

import pytest
import requests
import stripe
from django.test import override_settings

from shared_apps.webhooks.models import ProviderRoute
from tenant_apps.invoices.models import Invoice
from tenant_apps.payments.models import CardPayment, Payment
from tenant_apps.payments.services import record_manual_payment
from tests.isolation import Route, TenantRouteCases, assert_refused
from tests.stripe_sandbox import connect, deliver, events_of
from tests.tenant_apps.billing.factories import item
from tests.tenant_apps.invoices.factories import INVOICE_IN, draft_invoice, sent_invoice


def confirm(sandbox, account: str, intent_id: str, method: str = "pm_card_visa"):
    """The customer pays in the browser (Stripe.js confirms on the connected account)."""
    client = stripe.StripeClient("sk_test_browser", base_addresses={"api": sandbox.base_url})
    return client.v1.payment_intents.confirm(
        intent_id, params={"payment_method": method}, options={"stripe_account": account}
    )


def test_a_new_account_takes_charges_only_once_its_onboarding_link_is_followed(stripe_sandbox, tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
    started = tenant_a.api().post("/payments/connect", {"return_url": "https://app.example.test/done"})
    before = tenant_a.api(as_staff=True).get("/payments/connect").json()
    refused = tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk})

    onboarded = requests.get(started.json()["url"], allow_redirects=False, timeout=10)
    deliver(events_of(stripe_sandbox, "account.updated"))
    after = tenant_a.api(as_staff=True).get("/payments/connect").json()
    intent = tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk})

    assert started.status_code == 200, started.content
    assert started.json()["url"].startswith(f"{stripe_sandbox.base_url}/connect/onboarding/acct_")
    assert (before["charges_enabled"], before["details_submitted"]) == (False, False)
    assert_refused(refused, 409)
    assert (onboarded.status_code, onboarded.headers["Location"]) == (303, "https://app.example.test/done")
    assert (after["charges_enabled"], after["details_submitted"]) == (True, True)
    assert intent.status_code == 200
    route = ProviderRoute.objects.get(provider="stripe", external_id=after["account_id"])
    assert (route.kind, route.tenant_id) == ("account", tenant_a.tenant.pk)


def test_staff_cannot_connect_and_nothing_is_created(stripe_sandbox, tenant_a):
    response = tenant_a.api(as_staff=True).post("/payments/connect", {})

    assert_refused(response, 403)
    assert stripe_sandbox.requests == []


def test_connecting_twice_keeps_one_account(stripe_sandbox, tenant_a):
    first = connect(tenant_a)
    second = connect(tenant_a)

    assert first == second
    assert len([r for r in stripe_sandbox.requests if r["path"] == "/v1/accounts"]) == 1


def test_create_intent_answers_the_amount_due_on_the_connected_account(stripe_sandbox, tenant_a):
    account = connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)

    response = tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["amount"] == invoice.total
    assert body["currency"] == invoice.currency
    assert body["stripe_account"] == account
    assert body["publishable_key"]
    assert body["client_secret"].startswith(body["payment_intent_id"])
    [create] = [r for r in stripe_sandbox.requests if r["path"] == "/v1/payment_intents"]
    assert create["account"] == account
    assert create["idempotency_key"] == f"payment-intent:{tenant_a.tenant.schema_name}:{body['payment_id']}"
    assert create["params"]["metadata"] == {
        "tenant": tenant_a.tenant.schema_name,
        "invoice_id": str(invoice.pk),
        "payment_id": str(body["payment_id"]),
    }
    assert "application_fee_amount" not in create["params"]


def test_the_same_intent_while_the_amount_due_is_unchanged_and_a_new_one_when_it_changes(stripe_sandbox, tenant_a):
    account = connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)

    first = tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk}).json()
    again = tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk}).json()
    with tenant_a.schema():
        record_manual_payment(invoice_id=invoice.pk, amount=100, method="cash")
    changed = tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk}).json()

    assert again == first
    assert changed["payment_intent_id"] != first["payment_intent_id"]
    assert changed["amount"] == invoice.total - 100
    assert stripe_sandbox.objects[first["payment_intent_id"]]["status"] == "canceled"
    assert stripe_sandbox.objects[changed["payment_intent_id"]]["_account"] == account
    with tenant_a.schema():
        statuses = dict(CardPayment.objects.values_list("payment_intent_id", "status"))
    assert statuses == {first["payment_intent_id"]: "canceled", changed["payment_intent_id"]: "open"}


@pytest.mark.parametrize("status", [Invoice.Status.DRAFT, Invoice.Status.CANCELLED, Invoice.Status.PAID])
def test_create_intent_refuses_invoices_that_take_no_payment(stripe_sandbox, tenant_a, status):
    connect(tenant_a)
    with tenant_a.schema():
        invoice = INVOICE_IN[status](tenant_a.tenant)

    response = tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk})

    assert assert_refused(response, 409)["errors"][0]["status"] == status
    assert not [r for r in stripe_sandbox.requests if r["path"] == "/v1/payment_intents"]


def test_create_intent_without_a_connected_account_is_409_and_charges_nothing(stripe_sandbox, tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)

    response = tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk})

    assert_refused(response, 409)
    assert response.json()["message"].startswith("Connect a Stripe account")
    assert stripe_sandbox.requests == []


@override_settings(PLATFORM_FEE_BPS=250)
def test_the_platform_fee_is_asked_in_basis_points(stripe_sandbox, tenant_a):
    connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(
            tenant_a.tenant, items=[item(quantity=Decimal(1), unit_price=10001, tax_rate=Decimal(0))]
        )

    tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk})

    [create] = [r for r in stripe_sandbox.requests if r["path"] == "/v1/payment_intents"]
    assert create["params"]["application_fee_amount"] == "250"  # 2.5 % of 10001, rounded down


@pytest.mark.parametrize(("currency", "unit_price"), [("jpy", 1500), ("kwd", 12345), ("usd", 999)])
def test_minor_units_pass_through_unchanged_in_every_currency(stripe_sandbox, tenant_a, currency, unit_price):
    connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(
            tenant_a.tenant,
            currency=currency,
            items=[item(quantity=Decimal(1), unit_price=unit_price, tax_rate=Decimal(0))],
        )

    body = tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk}).json()

    assert (body["amount"], body["currency"]) == (unit_price, currency)
    intent = stripe_sandbox.objects[body["payment_intent_id"]]
    assert (intent["amount"], intent["currency"]) == (unit_price, currency)


def test_a_paid_intent_reaches_the_ledger_through_its_events(stripe_sandbox, tenant_a):
    account = connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
    body = tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk}).json()
    confirm(stripe_sandbox, account, body["payment_intent_id"])

    processed = deliver(stripe_sandbox.events)
    listed = tenant_a.api().get("/payments", invoice_id=invoice.pk).json()
    shown = tenant_a.api().get(f"/invoices/{invoice.pk}").json()

    assert {event.status for event in processed} == {"processed"}
    [payment] = listed["items"]
    assert (payment["amount"], payment["method"], payment["provider_id"]) == (
        invoice.total,
        "card",
        body["payment_intent_id"],
    )
    assert (shown["status"], shown["amount_due"], shown["credit"]) == ("PAID", 0, 0)


def test_pay_link_checkout_in_the_sandbox_pays_the_invoice(stripe_sandbox, tenant_a):
    connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)

    link = tenant_a.api().post(f"/invoices/{invoice.pk}/pay-link").json()
    same = tenant_a.api().post(f"/invoices/{invoice.pk}/pay-link").json()
    paid = requests.post(link["url"], data={"outcome": "succeeded"}, timeout=10)
    deliver(events_of(stripe_sandbox, "checkout.session.completed", "payment_intent.succeeded"))

    assert same == link
    assert paid.status_code == 200
    session = stripe_sandbox.objects[link["url"].rsplit("/", 1)[1]]
    assert session["metadata"]["tenant"] == tenant_a.tenant.schema_name
    assert session["metadata"]["invoice_id"] == str(invoice.pk)
    with tenant_a.schema():
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID
        assert Payment.objects.filter(invoice_id=invoice.pk).count() == 1


def test_a_declined_checkout_leaves_the_invoice_open(stripe_sandbox, tenant_a):
    connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
    link = tenant_a.api().post(f"/invoices/{invoice.pk}/pay-link").json()

    declined = requests.post(link["url"], data={"outcome": "failed"}, timeout=10)
    deliver(events_of(stripe_sandbox, "payment_intent.payment_failed"))

    assert declined.status_code == 402
    with tenant_a.schema():
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.SENT
        assert not Payment.objects.filter(invoice_id=invoice.pk).exists()


def test_refunds_full_partial_and_never_more_than_paid(stripe_sandbox, tenant_a):
    account = connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
    body = tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk}).json()
    confirm(stripe_sandbox, account, body["payment_intent_id"])
    deliver(stripe_sandbox.events)
    payment_id = tenant_a.api().get("/payments", invoice_id=invoice.pk).json()["items"][0]["id"]

    partial = tenant_a.api().post(f"/payments/{payment_id}/refund", {"amount": 100})
    too_much = tenant_a.api().post(f"/payments/{payment_id}/refund", {"amount": invoice.total})
    rest = tenant_a.api().post(f"/payments/{payment_id}/refund", {})
    nothing_left = tenant_a.api().post(f"/payments/{payment_id}/refund", {})

    assert partial.status_code == 201, partial.content
    assert partial.json()["refund"]["status"] == "succeeded"
    assert partial.json()["invoice"]["status"] == "PARTIALLY_PAID"
    assert assert_refused(too_much, 409)["errors"][0]["refundable"] == invoice.total - 100
    assert rest.json()["refund"]["amount"] == invoice.total - 100
    assert rest.json()["invoice"]["status"] == "SENT"
    assert_refused(nothing_left, 409)
    keys = [r["idempotency_key"] for r in stripe_sandbox.requests if r["path"] == "/v1/refunds"]
    schema = tenant_a.tenant.schema_name
    assert keys == [
        f"refund:{schema}:{partial.json()['refund']['id']}",
        f"refund:{schema}:{rest.json()['refund']['id']}",
    ]
    # The refund events that follow change nothing more.
    deliver(events_of(stripe_sandbox, "refund.created", "charge.refunded"))
    with tenant_a.schema():
        refunds = Payment.objects.filter(invoice_id=invoice.pk, kind="refund").count()
        assert (refunds, Invoice.objects.get(pk=invoice.pk).amount_paid) == (2, 0)


def test_staff_cannot_refund(stripe_sandbox, tenant_a):
    response = tenant_a.api(as_staff=True).post("/payments/1/refund", {})

    assert_refused(response, 403)


def test_a_manual_payment_is_not_refunded_through_stripe(stripe_sandbox, tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
        cash = record_manual_payment(invoice_id=invoice.pk, amount=100, method="cash")

    response = tenant_a.api().post(f"/payments/{cash.pk}/refund", {})

    assert assert_refused(response, 409)["message"] == "Only card payments are refunded through Stripe."


def test_list_payments_of_an_unknown_invoice_is_404(tenant_a):
    assert_refused(tenant_a.api().get("/payments", invoice_id=999999), 404)


def test_the_webhook_is_not_served_on_a_tenant_host(tenant_a):
    response = tenant_a.api().with_token(None).post("/payments/webhook", json.dumps({"id": "evt_1"}))

    assert_refused(response, 400, 404)


class TestPaymentsIsolation(TenantRouteCases):
    routes = [
        Route("POST", "/payments/connect", {}),
        Route("GET", "/payments/connect"),
        Route("POST", "/payments/create-intent", {"invoice_id": 1}),
        Route("GET", "/payments"),
        Route("POST", "/payments/1/refund", {}),
        Route("POST", "/invoices/1/pay-link"),
    ]
    object_routes = [
        Route("GET", "/payments?invoice_id={id}"),
        Route("POST", "/invoices/{id}/pay-link"),
    ]

    def make_object(self, owner):
        with owner.schema():
            return sent_invoice(owner.tenant).pk


def test_another_tenant_cannot_refund_a_payment_by_id(stripe_sandbox, tenant_a, tenant_b):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
        payment = Payment.objects.create(
            invoice=invoice,
            amount=100,
            currency=invoice.currency,
            method="card",
            provider="stripe",
            provider_id="pi_tenant_a",
            occurred_at=invoice.created_at,
        )

    response = tenant_b.api(on_api_host=True).post(f"/payments/{payment.pk}/refund", {})

    assert_refused(response, 404, 409)
    assert stripe_sandbox.requests == []


def test_another_tenants_invoice_gets_no_intent(stripe_sandbox, tenant_a, tenant_b):
    connect(tenant_b)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)

    response = tenant_b.api(on_api_host=True).post("/payments/create-intent", {"invoice_id": invoice.pk})

    assert_refused(response, 404)
    assert not [r for r in stripe_sandbox.requests if r["path"] == "/v1/payment_intents"]


def test_draft_invoice_has_no_pay_link(stripe_sandbox, tenant_a):
    connect(tenant_a)
    with tenant_a.schema():
        invoice = draft_invoice(tenant_a.tenant)

    assert_refused(tenant_a.api().post(f"/invoices/{invoice.pk}/pay-link"), 409)


def test_the_business_sets_its_payment_reminder_days(tenant_a):
    default = tenant_a.api().get("/tenants/me").json()["payment_reminder_days"]
    changed = tenant_a.api().patch("/tenants/me", {"payment_reminder_days": [14, 3]})
    refused = tenant_a.api().patch("/tenants/me", {"payment_reminder_days": [0]})

    assert default == [1, 7, 14]
    assert changed.json()["payment_reminder_days"] == [3, 14]
    assert assert_refused(refused, 400)["errors"][0]["field"] == "payment_reminder_days"
