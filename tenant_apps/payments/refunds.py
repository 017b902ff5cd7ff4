"""Card refunds: those the business asks for (never more than was paid less the refunds
already asked) and those Stripe reports (made in Stripe's dashboard too), with their ledger
rows once per refund id and a reversal when a refund fails after it succeeded.

Lock order: Payment (refund requests) and CardRefund rows, then the Invoice. Stripe is never
called while a row lock is held; our row exists first and its id is the Idempotency-Key."""

from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from shared_apps.audit import services as audit
from shared_apps.errors import Conflict, NotFound, ValidationFailed
from shared_apps.outbox.services import enqueue_after_commit
from shared_apps.tenants.queries import current_tenant_id
from shared_apps.webhooks.stripe import PROVIDER
from tenant_apps.invoices.services import lock_invoice
from tenant_apps.payments import gateway
from tenant_apps.payments.connect import not_connected, payment_account, require_card_payments
from tenant_apps.payments.gateway import StripeFailure, current_schema, idempotency_key
from tenant_apps.payments.ledger import notify_owner, payment_recorded, post_ledger_entry
from tenant_apps.payments.models import CardRefund, Payment, PaymentNotice

SUBMIT_REFUND_ACTOR = "submit_card_refund"
# Stripe's refund statuses, as ours.
REFUND_STATUS = {
    "succeeded": CardRefund.Status.SUCCEEDED,
    "pending": CardRefund.Status.PENDING,
    "requires_action": CardRefund.Status.PENDING,
    "failed": CardRefund.Status.FAILED,
    "canceled": CardRefund.Status.FAILED,
}


def record_stripe_refund(*, payment: Payment, refund: dict[str, Any]) -> CardRefund:
    """Our refund row for a Stripe refund (one we asked for, or one made in Stripe's
    dashboard) at Stripe's status; a succeeded one gets its ledger row once. A failed or
    canceled one (final at Stripe, even after it succeeded) releases its amount once."""
    with transaction.atomic():
        card_refund = CardRefund.objects.select_for_update().filter(refund_id=refund["id"]).first()
        our_id = str((refund.get("metadata") or {}).get("refund_id", ""))
        if card_refund is None and our_id.isdigit():
            card_refund = (
                CardRefund.objects.select_for_update().filter(pk=int(our_id), payment=payment, refund_id=None).first()
            )
        if card_refund is None:
            card_refund = CardRefund.objects.create(payment=payment, amount=int(refund["amount"]))
        card_refund.refund_id = refund["id"]
        status = REFUND_STATUS.get(refund.get("status") or "", CardRefund.Status.PENDING)
        if card_refund.status == CardRefund.Status.FAILED:
            card_refund.save(update_fields=["refund_id"])
            return card_refund
        if status == CardRefund.Status.FAILED:
            _release_failed_refund(card_refund=card_refund, payment=payment, refund=refund)
            return card_refund
        if card_refund.ledger_entry_id is None:
            card_refund.status = status
        if status == CardRefund.Status.SUCCEEDED and card_refund.ledger_entry_id is None:
            invoice = lock_invoice(invoice_id=payment.invoice_id)
            card_refund.ledger_entry = post_ledger_entry(
                invoice=invoice,
                kind=Payment.Kind.REFUND,
                amount=card_refund.amount,
                currency=payment.currency,
                method=Payment.Method.CARD,
                reference=refund.get("charge") or "",
                provider=PROVIDER,
                provider_id=refund["id"],
                occurred_at=datetime.fromtimestamp(refund["created"], tz=UTC)
                if refund.get("created")
                else timezone.now(),
                recorded_by=card_refund.requested_by,
            )
            payment_recorded(card_refund.ledger_entry, refunded=payment)
        card_refund.save()
    return card_refund


def _release_failed_refund(*, card_refund: CardRefund, payment: Payment, refund: dict[str, Any]) -> None:
    """Mark the refund failed (its amount is refundable again); if its ledger row was written,
    a `reversal` row puts the money back on the invoice. The owner sees it on the timeline."""
    invoice = lock_invoice(invoice_id=payment.invoice_id)
    card_refund.status = CardRefund.Status.FAILED
    reason = refund.get("failure_reason") or refund.get("status") or "failed"
    card_refund.last_error = f"Stripe: {reason}"
    card_refund.save()
    if card_refund.ledger_entry_id is not None:
        post_ledger_entry(
            invoice=invoice,
            kind=Payment.Kind.REVERSAL,
            amount=card_refund.amount,
            currency=payment.currency,
            method=Payment.Method.CARD,
            reference=refund["id"],
            provider=PROVIDER,
            provider_id=f"{refund['id']}:failed",
            occurred_at=timezone.now(),
        )
    notify_owner(
        invoice=invoice,
        kind=PaymentNotice.Kind.REFUND_FAILED,
        message=(
            f"A card refund of {card_refund.amount} {payment.currency} on invoice {invoice.number} "
            f"failed ({reason}); the customer did not get the money back."
        ),
        dedupe_key=f"refund_failed:{refund['id']}",
        refund_id=refund["id"],
        amount=card_refund.amount,
        failure_reason=reason,
    )


def request_card_refund(*, payment_id: int, amount: int | None, requested_by: int | None) -> CardRefund:
    """Refund a card payment in full (no amount) or in part: never more than was paid less
    the refunds already asked (concurrent requests are serialized on the payment's row).
    The refund row is written first, then Stripe is asked with its id as Idempotency-Key; if
    Stripe is away a job asks again with the same key."""
    if amount is not None and amount <= 0:
        raise ValidationFailed("amount must be positive.", details=[{"field": "amount"}])
    require_card_payments()
    with transaction.atomic():
        payment = Payment.objects.select_for_update(of=("self",)).filter(pk=payment_id).first()
        if payment is None:
            raise NotFound("Payment not found.")
        if payment.kind != Payment.Kind.PAYMENT or payment.provider != PROVIDER:
            raise Conflict("Only card payments are refunded through Stripe.", code="not_a_card_payment")
        if payment_account(payment=payment) is None:
            raise not_connected()
        reserved = (
            CardRefund.objects.filter(payment=payment)
            .exclude(status=CardRefund.Status.FAILED)
            .aggregate(total=Sum("amount"))["total"]
            or 0
        )
        left = payment.amount - reserved
        amount = left if amount is None else amount
        if left <= 0 or amount > left:
            raise Conflict(
                "The refund is more than what is left of this payment.",
                code="refund_exceeds_paid",
                details=[{"refundable": max(left, 0)}],
            )
        card_refund = CardRefund.objects.create(payment=payment, amount=amount, requested_by=requested_by)
        audit.record(
            tenant_id=current_tenant_id(),
            action="payment.refund_requested",
            target=f"payment:{payment.pk}",
            details={"amount": amount, "currency": payment.currency, "card_refund_id": card_refund.pk},
        )
    return submit_card_refund(refund_id=card_refund.pk)


def submit_card_refund(*, refund_id: int) -> CardRefund:
    """Ask Stripe for a refund row not yet accepted (again: the same key replays)."""
    card_refund = CardRefund.objects.select_related("payment").get(pk=refund_id)
    if card_refund.status != CardRefund.Status.REQUESTED:
        return card_refund
    payment = card_refund.payment
    account = payment_account(payment=payment)
    if account is None:  # disconnected since it was asked: Stripe would refuse us
        with transaction.atomic():
            CardRefund.objects.filter(pk=card_refund.pk).update(
                status=CardRefund.Status.FAILED, last_error="The Stripe account was disconnected."
            )
            notify_owner(
                invoice=payment.invoice,
                kind=PaymentNotice.Kind.REFUND_FAILED,
                message=(
                    f"A card refund of {card_refund.amount} {payment.currency} on invoice "
                    f"{payment.invoice.number} was not made: the Stripe account was disconnected."
                ),
                dedupe_key=f"refund_failed:ours:{card_refund.pk}",
                amount=card_refund.amount,
                failure_reason="account_disconnected",
            )
        raise not_connected()
    try:
        refund = gateway.create_refund(
            account_id=account.account_id,
            payment_intent_id=payment.provider_id or "",
            amount=card_refund.amount,
            metadata={
                "tenant": current_schema(),
                "invoice_id": str(payment.invoice_id),
                "refund_id": str(card_refund.pk),
            },
            idempotency_key=idempotency_key("refund", card_refund.pk),
        )
    except StripeFailure as error:
        if error.retryable:
            with transaction.atomic():
                CardRefund.objects.filter(pk=card_refund.pk).update(last_error=str(error)[:2000])
                enqueue_after_commit(
                    actor_name=SUBMIT_REFUND_ACTOR, schema_name=current_schema(), refund_id=card_refund.pk
                )
            card_refund.refresh_from_db()
            return card_refund
        CardRefund.objects.filter(pk=card_refund.pk).update(
            status=CardRefund.Status.FAILED, last_error=str(error)[:2000]
        )
        raise Conflict(
            error.user_message or "Stripe refused the refund.",
            code="refund_refused",
            details=[{"code": error.code}],
        ) from error
    return record_stripe_refund(payment=payment, refund=refund)
