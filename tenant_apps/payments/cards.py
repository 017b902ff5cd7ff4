"""Card payments through Stripe Connect: the business's own account, PaymentIntents and
Checkout Sessions for an invoice's amount due, the ledger rows Stripe's verified events
create (once per intent or refund id), refunds, and the owner's notices.

Lock order: Payment (refund requests) and CardRefund rows, then the Invoice. Stripe is never
called while a row lock is held; our row exists first and its id is the Idempotency-Key."""

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import stripe
from django.conf import settings
from django.db import transaction
from django.db.models import F, Subquery, Sum
from django.utils import timezone

from shared_apps.errors import Conflict, NotFound, ProviderUnavailable, ValidationFailed
from shared_apps.outbox.services import enqueue_after_commit
from shared_apps.tenants.models import Tenant
from shared_apps.webhooks import services as webhooks
from shared_apps.webhooks.stripe import ACCOUNT_KIND, PROVIDER
from tenant_apps.invoices.models import Invoice
from tenant_apps.invoices.services import PAYABLE_STATUSES, apply_ledger_entry, lock_invoice, require_invoice
from tenant_apps.payments import pay_links
from tenant_apps.payments.models import CardPayment, CardRefund, Payment, PaymentNotice, StripeAccount
from tenant_apps.payments.provider import current_schema, idempotency_key, stripe_client

logger = logging.getLogger("payments.stripe")

SUBMIT_REFUND_ACTOR = "submit_card_refund"
# Stripe errors that may pass if the same request is sent again later.
RETRYABLE = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)
# Stripe's refund statuses, as ours.
REFUND_STATUS = {
    "succeeded": CardRefund.Status.SUCCEEDED,
    "pending": CardRefund.Status.PENDING,
    "requires_action": CardRefund.Status.PENDING,
    "failed": CardRefund.Status.FAILED,
    "canceled": CardRefund.Status.FAILED,
}

T = TypeVar("T")


def call_stripe(call: Callable[[], T]) -> T:
    """Run one SDK call (already retried by the SDK) and say what went wrong in our terms:
    503 when Stripe is away or throttling, 409 for a declined card or a refused request."""
    try:
        return call()
    except RETRYABLE as error:
        logger.warning("Stripe unavailable: %s", error)
        raise ProviderUnavailable("The card payment provider is unavailable; try again shortly.") from error
    except stripe.CardError as error:
        raise Conflict(
            error.user_message or "The card was declined.",
            code="card_declined",
            details=[{"code": error.code, "decline_code": getattr(error.error, "decline_code", None)}],
        ) from error
    except stripe.InvalidRequestError as error:
        raise Conflict(
            error.user_message or "The card payment provider refused the request.",
            code="stripe_request_refused",
            details=[{"code": error.code}],
        ) from error


def as_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


# -- Connect


def connected_account() -> StripeAccount | None:
    """The business's connected Stripe account (current schema), if it has one."""
    return StripeAccount.objects.filter(disconnected_at__isnull=True).first()


def shown_account() -> StripeAccount | None:
    """The account the owner sees: the connected one, else the one disconnected last."""
    return StripeAccount.objects.order_by(F("disconnected_at").desc(nulls_first=True), "-id").first()


def connect_stripe_account(*, tenant: Tenant, return_url: str, refresh_url: str) -> str:
    """An onboarding link for the business's own Stripe account, made on first use (and
    again after the business disconnected us: Stripe gives a deauthorized platform no access
    to the old one) and claimed in the routing table (its events reach this tenant only)."""
    account = connected_account()
    client = stripe_client()
    if account is None:
        # One key per connection: a retry replays it, a reconnection makes a new account.
        previous = StripeAccount.objects.count()
        key = f"connect:{tenant.schema_name}" + (f":{previous}" if previous else "")
        created = call_stripe(
            lambda: client.v1.accounts.create(
                params={"type": "standard", "metadata": {"tenant": tenant.schema_name}},
                options={"idempotency_key": key},
            )
        )
        with transaction.atomic():
            account, _ = StripeAccount.objects.get_or_create(account_id=created.id)
            update_account_state(account=account, data=as_dict(created))
            # Stripe announces a new account at once, before this route exists: those events
            # were stored unrouted and are processed now.
            webhooks.claim_route_and_release_held_events(
                tenant=tenant, provider=PROVIDER, kind=ACCOUNT_KIND, external_id=created.id
            )
    link = call_stripe(
        lambda: client.v1.account_links.create(
            params={
                "account": account.account_id,
                "type": "account_onboarding",
                "return_url": return_url,
                "refresh_url": refresh_url,
            }
        )
    )
    return link.url


def update_account_state(*, account: StripeAccount, data: dict[str, Any]) -> StripeAccount:
    """Copy what Stripe says of the account (charges and payouts enabled, details submitted)."""
    account.charges_enabled = bool(data.get("charges_enabled"))
    account.payouts_enabled = bool(data.get("payouts_enabled"))
    account.details_submitted = bool(data.get("details_submitted"))
    account.disabled_reason = ((data.get("requirements") or {}).get("disabled_reason") or "")[:255]
    account.save(update_fields=["charges_enabled", "payouts_enabled", "details_submitted", "disabled_reason"])
    return account


def disconnect_account(*, account: StripeAccount) -> StripeAccount:
    """The business disconnected our platform from its account: nothing more is charged on
    it. Its route stays, so its late events still reach this tenant (and only it)."""
    if account.disconnected_at is None:
        account.disconnected_at = timezone.now()
        account.charges_enabled = False
        account.payouts_enabled = False
        account.save(update_fields=["disconnected_at", "charges_enabled", "payouts_enabled", "updated_at"])
    return account


def payment_account(*, payment: Payment) -> StripeAccount | None:
    """The account a card payment was made on, while it is connected (refunds go there)."""
    made_on = CardPayment.objects.filter(payment_intent_id=payment.provider_id).values("account_id")[:1]
    return StripeAccount.objects.filter(account_id=Subquery(made_on), disconnected_at__isnull=True).first()


def _not_connected(account_id: str | None = None) -> Conflict:
    return Conflict(
        "Connect a Stripe account that can take card payments first.",
        code="stripe_not_connected",
        details=[{"account_id": account_id}],
    )


def require_charges_enabled() -> StripeAccount:
    account = connected_account()
    if account is None or not account.charges_enabled:
        raise _not_connected(account.account_id if account else None)
    return account


def platform_fee(amount: int) -> int:
    """The platform's cut (PLATFORM_FEE_BPS basis points), rounded down."""
    return amount * settings.PLATFORM_FEE_BPS // 10_000


# -- Paying


def _payable_amount(invoice: Invoice) -> int:
    if invoice.status not in PAYABLE_STATUSES or invoice.amount_due <= 0:
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
    client = stripe_client()
    for intent_id in intent_ids:
        try:
            client.v1.payment_intents.cancel(
                intent_id,
                params={"cancellation_reason": "abandoned"},
                options={"stripe_account": account.account_id},
            )
        except stripe.StripeError as error:
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
    params: dict[str, Any] = {
        "amount": attempt.amount,
        "currency": attempt.currency,
        "automatic_payment_methods": {"enabled": True},
        "metadata": _metadata(attempt),
    }
    if attempt.application_fee:
        params["application_fee_amount"] = attempt.application_fee
    client = stripe_client()
    intent = call_stripe(
        lambda: client.v1.payment_intents.create(
            params=params,  # type: ignore[arg-type]  # a plain dict of the documented params
            options={
                "idempotency_key": idempotency_key("payment-intent", attempt.pk),
                "stripe_account": account.account_id,
            },
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
    intent_data: dict[str, Any] = {"metadata": _metadata(attempt)}
    if attempt.application_fee:
        intent_data["application_fee_amount"] = attempt.application_fee
    client = stripe_client()
    session = call_stripe(
        lambda: client.v1.checkout.sessions.create(
            params={  # type: ignore[arg-type]  # a plain dict of the documented params
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": attempt.currency,
                            "unit_amount": attempt.amount,
                            "product_data": {"name": f"Invoice {invoice.number}"},
                        },
                    }
                ],
                "metadata": _metadata(attempt),
                "client_reference_id": str(attempt.pk),
                "payment_intent_data": intent_data,
                "success_url": pay_links.paid_url(invoice_id=invoice_id),
                "cancel_url": pay_links.cancelled_url(invoice_id=invoice_id),
            },
            options={
                "idempotency_key": idempotency_key("checkout-session", attempt.pk),
                "stripe_account": account.account_id,
            },
        )
    )
    attempt.checkout_session_id = session.id
    attempt.checkout_url = session.url or ""
    attempt.expires_at = datetime.fromtimestamp(session.expires_at, tz=UTC) if session.expires_at else None
    attempt.save(update_fields=["checkout_session_id", "checkout_url", "expires_at"])
    return attempt


# -- The ledger, from verified events


def notify_owner(*, invoice: Invoice, kind: str, message: str, dedupe_key: str, **data: Any) -> PaymentNotice | None:
    """A timeline entry for the owner, once per `dedupe_key`."""
    notice, created = PaymentNotice.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={"invoice": invoice, "kind": kind, "message": message, "data": data, "occurred_at": timezone.now()},
    )
    return notice if created else None


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
        payment = Payment.objects.create(
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
        _move_balance(invoice, paid_delta=amount)
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


def _move_balance(invoice: Invoice, *, paid_delta: int) -> None:
    """The ledger's effect on the invoice; a cancelled one keeps its status (the owner is
    told and refunds)."""
    if invoice.status == Invoice.Status.CANCELLED:
        invoice.amount_paid += paid_delta
        invoice.version += 1
        invoice.save(update_fields=["amount_paid", "version", "updated_at"])
        return
    apply_ledger_entry(invoice=invoice, paid_delta=paid_delta)


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
            card_refund.ledger_entry = Payment.objects.create(
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
            _move_balance(invoice, paid_delta=-card_refund.amount)
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
        Payment.objects.create(
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
        _move_balance(invoice, paid_delta=card_refund.amount)
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


def close_dispute(*, payment: Payment, dispute: dict[str, Any]) -> None:
    """A dispute Stripe closed: the invoice's flag is cleared; a lost one takes its amount out
    of the ledger like a refund (once per dispute id). The owner sees the outcome."""
    status = dispute.get("status")
    if status not in ("won", "lost", "warning_closed"):
        return  # still open at Stripe: an event out of order
    with transaction.atomic():
        Payment.objects.select_for_update().filter(pk=payment.pk).first()  # the refunds' lock
        invoice = lock_invoice(invoice_id=payment.invoice_id)
        if invoice.disputed_at is not None:
            invoice.disputed_at = None
            invoice.save(update_fields=["disputed_at", "updated_at"])
        amount = int(dispute["amount"])
        if status == "lost" and not CardRefund.objects.filter(refund_id=dispute["id"]).exists():
            entry = Payment.objects.create(
                invoice=invoice,
                kind=Payment.Kind.REFUND,
                amount=amount,
                currency=payment.currency,
                method=Payment.Method.CARD,
                reference=dispute.get("charge") or "",
                provider=PROVIDER,
                provider_id=dispute["id"],
                occurred_at=timezone.now(),
            )
            CardRefund.objects.create(
                payment=payment,
                amount=amount,
                status=CardRefund.Status.SUCCEEDED,
                refund_id=dispute["id"],
                ledger_entry=entry,
            )
            _move_balance(invoice, paid_delta=-amount)
        outcome = "lost: the customer keeps the money" if status == "lost" else "won"
        notify_owner(
            invoice=invoice,
            kind=PaymentNotice.Kind.DISPUTE_CLOSED,
            message=f"The dispute of a card payment of invoice {invoice.number} was {outcome}.",
            dedupe_key=f"dispute_closed:{dispute['id']}",
            dispute_id=dispute["id"],
            status=status,
            amount=amount,
        )


# -- Refunds asked by the business


def request_card_refund(*, payment_id: int, amount: int | None, requested_by: int | None) -> CardRefund:
    """Refund a card payment in full (no amount) or in part: never more than was paid less
    the refunds already asked (concurrent requests are serialized on the payment's row).
    The refund row is written first, then Stripe is asked with its id as Idempotency-Key; if
    Stripe is away a job asks again with the same key."""
    if amount is not None and amount <= 0:
        raise ValidationFailed("amount must be positive.", details=[{"field": "amount"}])
    with transaction.atomic():
        payment = Payment.objects.select_for_update(of=("self",)).filter(pk=payment_id).first()
        if payment is None:
            raise NotFound("Payment not found.")
        if payment.kind != Payment.Kind.PAYMENT or payment.provider != PROVIDER:
            raise Conflict("Only card payments are refunded through Stripe.", code="not_a_card_payment")
        if payment_account(payment=payment) is None:
            raise _not_connected()
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
        raise _not_connected()
    client = stripe_client()
    try:
        refund = client.v1.refunds.create(
            params={
                "payment_intent": payment.provider_id or "",
                "amount": card_refund.amount,
                "reason": "requested_by_customer",
                "metadata": {
                    "tenant": current_schema(),
                    "invoice_id": str(payment.invoice_id),
                    "refund_id": str(card_refund.pk),
                },
            },
            options={
                "idempotency_key": idempotency_key("refund", card_refund.pk),
                "stripe_account": account.account_id,
            },
        )
    except RETRYABLE as error:
        with transaction.atomic():
            CardRefund.objects.filter(pk=card_refund.pk).update(last_error=str(error)[:2000])
            enqueue_after_commit(actor_name=SUBMIT_REFUND_ACTOR, schema_name=current_schema(), refund_id=card_refund.pk)
        card_refund.refresh_from_db()
        return card_refund
    except stripe.StripeError as error:
        CardRefund.objects.filter(pk=card_refund.pk).update(
            status=CardRefund.Status.FAILED, last_error=str(error)[:2000]
        )
        raise Conflict(
            error.user_message or "Stripe refused the refund.",
            code="refund_refused",
            details=[{"code": error.code}],
        ) from error
    return record_stripe_refund(payment=payment, refund=as_dict(refund))
