"""Stripe's events, processed in the tenant's schema by the webhook pipeline's job. Each event
is a trigger: the object it names is read again from Stripe, so events delivered twice or out
of order (a refund before its payment, a failure after a success) leave the state Stripe has
now. An event that names rows this tenant does not own is kept for review and changes nothing."""

import json
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from shared_apps.events.services import emit
from shared_apps.webhooks.handlers import NeedsReview
from shared_apps.webhooks.models import WebhookEvent
from tenant_apps.billing.totals import format_money
from tenant_apps.invoices.models import Invoice
from tenant_apps.payments import connect, disputes, gateway, intents, ledger, queries, refunds
from tenant_apps.payments.gateway import StripeFailure, current_schema, is_live_mode
from tenant_apps.payments.models import CardPayment, Payment, PaymentNotice, StripeAccount


def handle_stripe_event(event: WebhookEvent) -> None:
    """The pipeline's handler for provider "stripe" (registered in PaymentsConfig.ready)."""
    data = json.loads(bytes(event.body))
    if bool(data.get("livemode")) != is_live_mode():
        mode = "live" if data.get("livemode") else "test"
        raise NeedsReview(f"A {mode}-mode event does not match our key's mode; not applied.")
    account = StripeAccount.objects.filter(account_id=data.get("account") or "").first()
    if account is None:
        raise NeedsReview(f"Account {data.get('account')!r} is not this business's Stripe account.")
    handler = HANDLERS.get(data.get("type", ""))
    if handler is not None:
        handler(account, data["data"]["object"], data["id"])


def _account_updated(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    if account.disconnected_at is not None:
        return  # Stripe no longer lets us read it; it stays disconnected until a new connection.
    fresh = gateway.retrieve_account(account_id=account.account_id)
    connect.update_account_state(account=account, data=fresh)


def _deauthorized(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    connect.disconnect_account(account=account)


def _read(account: StripeAccount, object_id: str, retrieve: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The object as Stripe has it now (`retrieve` reads it on this account); one the account
    does not have makes an event that cannot be this tenant's (kept for review, not retried)."""
    try:
        return retrieve()
    except StripeFailure as error:
        if error.code != "resource_missing":
            raise
        raise NeedsReview(f"{object_id} is not on account {account.account_id}.") from error


def read_intent(account: StripeAccount, intent_id: str) -> dict[str, Any]:
    return _read(
        account,
        intent_id,
        lambda: gateway.retrieve_payment_intent(account_id=account.account_id, intent_id=intent_id),
    )


def _owned_attempt(intent: dict[str, Any]) -> CardPayment:
    metadata = intent.get("metadata") or {}
    if metadata.get("tenant") and metadata["tenant"] != current_schema():
        raise NeedsReview(f"Intent {intent['id']} names business {metadata['tenant']!r}, not this one.")
    attempt = intents.attempt_for_intent(intent)
    if attempt is None:
        raise NeedsReview(f"Intent {intent['id']} is not one of this business's card payments.")
    return attempt


def settle_intent(account: StripeAccount, intent_id: str) -> Payment | None:
    """Record the intent's payment if Stripe says it succeeded now (once per intent)."""
    intent = read_intent(account, intent_id)
    attempt = _owned_attempt(intent)
    if intent["status"] != "succeeded":
        return None
    return intents.record_card_payment(attempt=attempt, intent=intent)


def _intent_succeeded(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    settle_intent(account, obj["id"])


def _checkout_completed(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    """A session paid by card completes `paid`; one paid by an asynchronous method (a bank
    debit) completes `unpaid` and is settled by `async_payment_succeeded` or `_failed`."""
    if obj.get("payment_status") == "paid" and obj.get("payment_intent"):
        settle_intent(account, obj["payment_intent"])


def _checkout_async_succeeded(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    if obj.get("payment_intent"):
        settle_intent(account, obj["payment_intent"])


def _checkout_async_failed(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    if obj.get("payment_intent"):
        _payment_failed(account, obj["payment_intent"], event_id)


def _intent_failed(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    _payment_failed(account, obj["id"], event_id, error=obj.get("last_payment_error"))


def _payment_failed(
    account: StripeAccount, intent_id: str, event_id: str, *, error: dict[str, Any] | None = None
) -> None:
    """A declined attempt: unless the intent has since succeeded, the owner sees it on the
    timeline and the customer gets a text with the pay link (opt-out and quiet hours kept)."""
    intent = read_intent(account, intent_id)
    attempt = _owned_attempt(intent)
    if intent["status"] == "succeeded":
        intents.record_card_payment(attempt=attempt, intent=intent)
        return
    error = error or intent.get("last_payment_error") or {}
    invoice = Invoice.objects.get(pk=attempt.invoice_id)
    notice = ledger.notify_owner(
        invoice=invoice,
        kind=PaymentNotice.Kind.PAYMENT_FAILED,
        message=f"A card payment of invoice {invoice.number} failed: {error.get('message') or 'declined'}.",
        dedupe_key=f"failed:{event_id}",
        payment_intent_id=intent_id,
        code=error.get("code"),
        decline_code=error.get("decline_code"),
    )
    if notice is not None:
        emit(
            "payment.failed",
            invoice_id=invoice.pk,
            notice_id=notice.pk,
            amount=int(intent.get("amount") or 0),
            currency=invoice.currency,
            reason=error.get("decline_code") or error.get("code") or "declined",
        )


def _refunds(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    """charge.refunded (cumulative, without refund details) and refund.*: every refund of
    the intent is read from Stripe; its payment is recorded first if its event is late."""
    intent_id = obj.get("payment_intent")
    if not intent_id:
        return
    payment = Payment.objects.filter(provider_id=intent_id, kind=Payment.Kind.PAYMENT).first()
    if payment is None:
        payment = settle_intent(account, intent_id)
        if payment is None:
            return
    for refund in gateway.list_refunds(account_id=account.account_id, payment_intent_id=intent_id):
        refunds.record_stripe_refund(payment=payment, refund=refund)


def _disputed_payment(dispute: dict[str, Any]) -> Payment:
    """The card payment a dispute is about: by its intent, else by its charge (an inquiry, or
    a charge made without an intent, names only the charge; ours is the payment's reference)."""
    payment = queries.find_card_payment(
        payment_intent_id=dispute.get("payment_intent") or "", charge_id=dispute.get("charge") or ""
    )
    if payment is None:
        raise NeedsReview(f"Dispute {dispute['id']} is about a payment this business has not recorded.")
    return payment


def _flag_disputed(invoice: Invoice) -> None:
    if invoice.disputed_at is None:
        invoice.disputed_at = timezone.now()
        invoice.save(update_fields=["disputed_at", "updated_at"])


def _disputed_amount(dispute: dict[str, Any], invoice: Invoice) -> str:
    return format_money(int(dispute.get("amount") or 0), dispute.get("currency") or invoice.currency)


def _dispute_created(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    payment = _disputed_payment(obj)
    invoice = Invoice.objects.get(pk=payment.invoice_id)
    _flag_disputed(invoice)
    inquiry = str(obj.get("status", "")).startswith("warning_")
    what = "asked their bank about" if inquiry else "disputed"
    notice = ledger.notify_owner(
        invoice=invoice,
        kind=PaymentNotice.Kind.DISPUTE,
        message=f"The customer {what} a card payment of invoice {invoice.number} ({obj.get('reason')}).",
        dedupe_key=f"dispute:{obj['id']}",
        dispute_id=obj["id"],
        amount=obj.get("amount"),
        reason=obj.get("reason"),
        inquiry=inquiry,
    )
    if notice is not None:  # the first delivery of this dispute
        emit(
            "payment.disputed",
            invoice_id=invoice.pk,
            payment_id=payment.pk,
            dispute_id=str(obj["id"]),
            amount=int(obj.get("amount") or 0),
            currency=invoice.currency,
            reason=str(obj.get("reason") or ""),
        )


def _dispute_funds_withdrawn(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    """Stripe took the disputed amount (and its fee) from the business's balance while the
    dispute runs; the ledger changes only when the dispute is lost."""
    payment = _disputed_payment(obj)
    invoice = Invoice.objects.get(pk=payment.invoice_id)
    _flag_disputed(invoice)
    ledger.notify_owner(
        invoice=invoice,
        kind=PaymentNotice.Kind.DISPUTE_FUNDS_WITHDRAWN,
        message=(
            f"Stripe withheld {_disputed_amount(obj, invoice)} of a disputed card payment of invoice "
            f"{invoice.number} until the dispute is decided."
        ),
        dedupe_key=f"dispute_funds_withdrawn:{obj['id']}",
        dispute_id=obj["id"],
        amount=obj.get("amount"),
    )


def _dispute_funds_reinstated(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    payment = _disputed_payment(obj)
    invoice = Invoice.objects.get(pk=payment.invoice_id)
    ledger.notify_owner(
        invoice=invoice,
        kind=PaymentNotice.Kind.DISPUTE_FUNDS_REINSTATED,
        message=(
            f"Stripe returned {_disputed_amount(obj, invoice)} withheld for a dispute of invoice {invoice.number}."
        ),
        dedupe_key=f"dispute_funds_reinstated:{obj['id']}",
        dispute_id=obj["id"],
        amount=obj.get("amount"),
    )


def _dispute_closed(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    dispute = _read(
        account, obj["id"], lambda: gateway.retrieve_dispute(account_id=account.account_id, dispute_id=obj["id"])
    )
    disputes.close_dispute(payment=_disputed_payment(dispute), dispute=dispute)


HANDLERS = {
    "account.updated": _account_updated,
    "account.application.deauthorized": _deauthorized,
    "payment_intent.succeeded": _intent_succeeded,
    "checkout.session.completed": _checkout_completed,
    "checkout.session.async_payment_succeeded": _checkout_async_succeeded,
    "checkout.session.async_payment_failed": _checkout_async_failed,
    "payment_intent.payment_failed": _intent_failed,
    "charge.refunded": _refunds,
    "refund.created": _refunds,
    "refund.updated": _refunds,
    "refund.failed": _refunds,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.funds_withdrawn": _dispute_funds_withdrawn,
    "charge.dispute.funds_reinstated": _dispute_funds_reinstated,
    "charge.dispute.closed": _dispute_closed,
}
