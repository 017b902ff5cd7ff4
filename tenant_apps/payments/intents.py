"""Card payments of an invoice's amount due: PaymentIntents and hosted Checkout Sessions as
direct charges on the business's connected account, and the ledger row of a succeeded intent
(once per intent id). Stripe is never called while a row lock is held; our row exists first
and its id is the Idempotency-Key."""

import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shared_apps.errors import Conflict
from shared_apps.webhooks.stripe import PROVIDER
from tenant_apps.invoices.models import Invoice
from tenant_apps.invoices.services import lock_invoice, require_invoice
from tenant_apps.payments import gateway, pay_links
from tenant_apps.payments.connect import require_charges_enabled
from tenant_apps.payments.gateway import StripeFailure, call_stripe, current_schema, idempotency_key
from tenant_apps.payments.ledger import notify_owner, payment_recorded, post_ledger_entry
from tenant_apps.payments.models import CardPayment, Payment, PaymentNotice, StripeAccount

logger = logging.getLogger("payments.stripe")


def platform_fee(amount: int) -> int:
    """The platform's cut (PLATFORM_FEE_BPS basis points), rounded down."""
    return amount * settings.PLATFORM_FEE_BPS // 10_000


# -- Paying


def _payable_amount(invoice: Invoice) -> int:
    if not invoice.takes_payment:
        raise Conflict(
            f"A {invoice.status} invoice does not take payments.",
            code="invoice_not_payable",
            details=[{"status": invoice.status, "amount_due": invoice.amount_due}],
        )
    return invoice.amount_due


def _open_attempt(*, invoice_id: int, kind: str, account: StripeAccount) -> tuple[CardPayment, list[str]]:
    """The open attempt of `kind` for exactly the amount due now (made if missing), under the
    invoice's lock, and the intent ids of open attempts it replaces (their amount is no longer
    due, or their session expired)."""
    with transaction.atomic():
        invoice = lock_invoice(invoice_id=invoice_id)
        amount = _payable_amount(invoice)
        replaced: list[str] = []
        current = None
        for attempt in CardPayment.objects.filter(invoice=invoice, kind=kind, status=CardPayment.Status.OPEN):
            expired = attempt.expires_at is not None and attempt.expires_at <= timezone.now()
            if attempt.amount == amount and attempt.account_id == account.account_id and not expired:
                current = attempt
                continue
            attempt.status = CardPayment.Status.CANCELED
            attempt.save(update_fields=["status"])
            if attempt.payment_intent_id:
                replaced.append(attempt.payment_intent_id)
        if current is None:
            current = CardPayment.objects.create(
                invoice=invoice,
                kind=kind,
                amount=amount,
                currency=invoice.currency,
                application_fee=platform_fee(amount),
                account_id=account.account_id,
            )
    return current, replaced


def _metadata(attempt: CardPayment) -> dict[str, str]:
    return {"tenant": current_schema(), "invoice_id": str(attempt.invoice_id), "payment_id": str(attempt.pk)}


def _cancel_replaced(*, account: StripeAccount, intent_ids: list[str]) -> None:
    """Cancel intents for an amount no longer due. One that was paid meanwhile cannot be
    cancelled; its events record the payment (as an overpayment if it is one)."""
    for intent_id in intent_ids:
        try:
            gateway.cancel_payment_intent(account_id=account.account_id, intent_id=intent_id)
        except StripeFailure as error:
            logger.warning("Could not cancel replaced intent %s: %s", intent_id, error)


def create_payment_intent(*, invoice_id: int) -> CardPayment:
    """A PaymentIntent for the invoice's amount due, a direct charge on the business's account
    (with the platform fee). While the amount due is unchanged every call answers the same
    intent; a changed amount cancels the old one and makes a new one. 409 for a draft,
    cancelled or paid invoice, or a business without a Stripe account that takes charges."""
    require_invoice(invoice_id=invoice_id)
    account = require_charges_enabled()
    attempt, replaced = _open_attempt(invoice_id=invoice_id, kind=CardPayment.Kind.INTENT, account=account)
    _cancel_replaced(account=account, intent_ids=replaced)
    if attempt.payment_intent_id:
        return attempt
    intent = call_stripe(
        lambda: gateway.create_payment_intent(
            account_id=account.account_id,
            amount=attempt.amount,
            currency=attempt.currency,
            fee=attempt.application_fee,
            metadata=_metadata(attempt),
            idempotency_key=idempotency_key("payment-intent", attempt.pk),
        )
    )
    attempt.payment_intent_id = intent.id
    attempt.client_secret = intent.client_secret or ""
    attempt.save(update_fields=["payment_intent_id", "client_secret"])
    return attempt


def create_checkout_session(*, invoice_id: int) -> CardPayment:
    """A hosted Checkout Session for the amount due on the business's account, kept while the
    amount due is unchanged and the session has not expired. Its intent carries our metadata,
    so its events name the attempt. After paying (or giving up) Checkout sends the customer
    to the invoice's pay link on its own business's host, whatever host they came from."""
    require_invoice(invoice_id=invoice_id)
    account = require_charges_enabled()
    attempt, replaced = _open_attempt(invoice_id=invoice_id, kind=CardPayment.Kind.CHECKOUT, account=account)
    _cancel_replaced(account=account, intent_ids=replaced)
    if attempt.checkout_session_id:
        return attempt
    invoice = attempt.invoice
    session = call_stripe(
        lambda: gateway.create_checkout_session(
            account_id=account.account_id,
            amount=attempt.amount,
            currency=attempt.currency,
            fee=attempt.application_fee,
            product_name=f"Invoice {invoice.number}",
            metadata=_metadata(attempt),
            client_reference_id=str(attempt.pk),
            success_url=pay_links.paid_url(invoice_id=invoice_id),
            cancel_url=pay_links.cancelled_url(invoice_id=invoice_id),
            idempotency_key=idempotency_key("checkout-session", attempt.pk),
        )
    )
    attempt.checkout_session_id = session.id
    attempt.checkout_url = session.url or ""
    attempt.expires_at = datetime.fromtimestamp(session.expires_at, tz=UTC) if session.expires_at else None
    attempt.save(update_fields=["checkout_session_id", "checkout_url", "expires_at"])
    return attempt


def attempt_for_intent(intent: dict[str, Any]) -> CardPayment | None:
    """Our attempt behind a PaymentIntent of this tenant's account: by its id, or (a Checkout
    Session's intent, unknown until paid) by the attempt id in its metadata when that names
    this tenant. Metadata alone never reaches another tenant's rows: the event was routed
    here by its account, and the row must be this account's."""
    attempt = CardPayment.objects.filter(payment_intent_id=intent["id"]).first()
    if attempt is not None:
        return attempt
    metadata = intent.get("metadata") or {}
    if metadata.get("tenant") != current_schema() or not str(metadata.get("payment_id", "")).isdigit():
        return None
    invoice_id = str(metadata.get("invoice_id", ""))
    if not invoice_id.isdigit():
        return None
    return CardPayment.objects.filter(pk=int(metadata["payment_id"]), invoice_id=int(invoice_id)).first()


def record_card_payment(*, attempt: CardPayment, intent: dict[str, Any]) -> Payment:
    """The ledger row of a succeeded intent, once per intent id whichever event (or the
    reconciliation) comes first, and the invoice's status from the ledger. Money beyond the
    amount due is recorded too (a cash payment may have covered it): the invoice shows the
    credit and the owner is told; nothing is refunded without them."""
    with transaction.atomic():
        invoice = lock_invoice(invoice_id=attempt.invoice_id)
        existing = Payment.objects.filter(provider_id=intent["id"]).first()
        if existing is not None:
            return existing
        amount = int(intent.get("amount_received") or intent["amount"])
        due_before = invoice.amount_due
        payment = post_ledger_entry(
            invoice=invoice,
            kind=Payment.Kind.PAYMENT,
            amount=amount,
            currency=intent.get("currency") or invoice.currency,
            method=Payment.Method.CARD,
            reference=intent.get("latest_charge") or "",
            provider=PROVIDER,
            provider_id=intent["id"],
            occurred_at=datetime.fromtimestamp(intent["created"], tz=UTC) if intent.get("created") else timezone.now(),
        )
        payment_recorded(payment)
        CardPayment.objects.filter(pk=attempt.pk).update(
            status=CardPayment.Status.SUCCEEDED, payment_intent_id=intent["id"]
        )
        if amount > due_before or invoice.status == Invoice.Status.CANCELLED:
            notify_owner(
                invoice=invoice,
                kind=PaymentNotice.Kind.OVERPAYMENT,
                message=(
                    f"A card payment of {amount} {payment.currency} arrived when {due_before} was due; "
                    f"the invoice holds a credit of {invoice.credit}. Refund or keep it as credit."
                ),
                dedupe_key=f"overpayment:{intent['id']}",
                payment_id=payment.pk,
                amount=amount,
                amount_due_before=due_before,
                credit=invoice.credit,
            )
    return payment
