"""Stripe's events, processed in the tenant's schema by the webhook pipeline's job. Each event
is a trigger: the object it names is read again from Stripe, so events delivered twice or out
of order (a refund before its payment, a failure after a success) leave the state Stripe has
now. An event that names rows this tenant does not own is kept for review and changes nothing."""

import json
from collections.abc import Callable
from typing import Any

import stripe
from django.db import connection
from django.utils import timezone

from shared_apps.webhooks.handlers import NeedsReview
from shared_apps.webhooks.models import WebhookEvent
from tenant_apps.invoices.models import Invoice
from tenant_apps.payments import cards, follow_ups
from tenant_apps.payments.models import CardPayment, Payment, PaymentNotice, StripeAccount
from tenant_apps.payments.provider import current_schema, is_live_mode, stripe_client


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
    fresh = stripe_client().v1.accounts.retrieve(account.account_id)
    cards.update_account_state(account=account, data=cards.as_dict(fresh))


def _deauthorized(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    cards.disconnect_account(account=account)


def _read(account: StripeAccount, object_id: str, retrieve: Callable[..., Any]) -> dict[str, Any]:
    """The object as Stripe has it now, on this account; one the account does not have makes
    an event that cannot be this tenant's (kept for review, not retried)."""
    try:
        return cards.as_dict(retrieve(object_id, options={"stripe_account": account.account_id}))
    except stripe.InvalidRequestError as error:
        if error.code != "resource_missing":
            raise
        raise NeedsReview(f"{object_id} is not on account {account.account_id}.") from error


def read_intent(account: StripeAccount, intent_id: str) -> dict[str, Any]:
    return _read(account, intent_id, stripe_client().v1.payment_intents.retrieve)


def _owned_attempt(intent: dict[str, Any]) -> CardPayment:
    metadata = intent.get("metadata") or {}
    if metadata.get("tenant") and metadata["tenant"] != current_schema():
        raise NeedsReview(f"Intent {intent['id']} names business {metadata['tenant']!r}, not this one.")
    attempt = cards.attempt_for_intent(intent)
    if attempt is None:
        raise NeedsReview(f"Intent {intent['id']} is not one of this business's card payments.")
    return attempt


def settle_intent(account: StripeAccount, intent_id: str) -> Payment | None:
    """Record the intent's payment if Stripe says it succeeded now (once per intent)."""
    intent = read_intent(account, intent_id)
    attempt = _owned_attempt(intent)
    if intent["status"] != "succeeded":
        return None
    return cards.record_card_payment(attempt=attempt, intent=intent)


def _intent_succeeded(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    settle_intent(account, obj["id"])


def _checkout_completed(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    if obj.get("payment_intent"):
        settle_intent(account, obj["payment_intent"])


def _intent_failed(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    """A declined attempt: unless the intent has since succeeded, the owner sees it on the
    timeline and the customer gets a text with the pay link (opt-out and quiet hours kept)."""
    intent = read_intent(account, obj["id"])
    attempt = _owned_attempt(intent)
    if intent["status"] == "succeeded":
        cards.record_card_payment(attempt=attempt, intent=intent)
        return
    error = obj.get("last_payment_error") or intent.get("last_payment_error") or {}
    invoice = Invoice.objects.get(pk=attempt.invoice_id)
    notice = cards.notify_owner(
        invoice=invoice,
        kind=PaymentNotice.Kind.PAYMENT_FAILED,
        message=f"A card payment of invoice {invoice.number} failed: {error.get('message') or 'declined'}.",
        dedupe_key=f"failed:{event_id}",
        payment_intent_id=obj["id"],
        code=error.get("code"),
        decline_code=error.get("decline_code"),
    )
    if notice is not None:
        follow_ups.queue_failed_payment_text(
            tenant=connection.tenant,  # type: ignore[attr-defined]  # set by django-tenants
            invoice_id=invoice.pk,
            notice_id=notice.pk,
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
    refunds = stripe_client().v1.refunds.list(
        params={"payment_intent": intent_id, "limit": 100}, options={"stripe_account": account.account_id}
    )
    for refund in refunds.auto_paging_iter():
        cards.record_stripe_refund(payment=payment, refund=cards.as_dict(refund))


def _dispute_created(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    payment = Payment.objects.filter(provider_id=obj.get("payment_intent") or "", kind=Payment.Kind.PAYMENT).first()
    if payment is None:
        raise NeedsReview(f"Dispute {obj['id']} is about a payment this business has not recorded.")
    invoice = Invoice.objects.get(pk=payment.invoice_id)
    if invoice.disputed_at is None:
        invoice.disputed_at = timezone.now()
        invoice.save(update_fields=["disputed_at", "updated_at"])
    cards.notify_owner(
        invoice=invoice,
        kind=PaymentNotice.Kind.DISPUTE,
        message=f"The customer disputed a card payment of invoice {invoice.number} ({obj.get('reason')}).",
        dedupe_key=f"dispute:{obj['id']}",
        dispute_id=obj["id"],
        amount=obj.get("amount"),
        reason=obj.get("reason"),
    )


def _dispute_closed(account: StripeAccount, obj: dict[str, Any], event_id: str) -> None:
    dispute = _read(account, obj["id"], stripe_client().v1.disputes.retrieve)
    payment = Payment.objects.filter(provider_id=dispute.get("payment_intent") or "", kind=Payment.Kind.PAYMENT).first()
    if payment is None:
        raise NeedsReview(f"Dispute {dispute['id']} is about a payment this business has not recorded.")
    cards.close_dispute(payment=payment, dispute=dispute)


HANDLERS = {
    "account.updated": _account_updated,
    "account.application.deauthorized": _deauthorized,
    "payment_intent.succeeded": _intent_succeeded,
    "checkout.session.completed": _checkout_completed,
    "payment_intent.payment_failed": _intent_failed,
    "charge.refunded": _refunds,
    "refund.created": _refunds,
    "refund.updated": _refunds,
    "refund.failed": _refunds,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
}
