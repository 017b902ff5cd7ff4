"""Posting to the payments ledger: a row and the invoice's balance move together, under the
invoice's row lock (manual payments and refunds, card payments, refunds, failed refunds and
lost disputes all post here); and the owner's notices about card money."""

from datetime import datetime
from typing import Any

from django.utils import timezone

from shared_apps.events.services import emit
from tenant_apps.invoices.models import Invoice
from tenant_apps.invoices.services import apply_ledger_entry
from tenant_apps.payments.models import Payment, PaymentNotice


def notify_owner(*, invoice: Invoice, kind: str, message: str, dedupe_key: str, **data: Any) -> PaymentNotice | None:
    """A timeline entry for the owner, once per `dedupe_key`."""
    notice, created = PaymentNotice.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={"invoice": invoice, "kind": kind, "message": message, "data": data, "occurred_at": timezone.now()},
    )
    return notice if created else None


def payment_recorded(entry: Payment, *, refunded: Payment | None = None) -> None:
    """The event of a ledger row just written: a payment received, or a refund (of the card
    payment `refunded`, when it is one). Reversals and lost disputes emit none here."""
    if entry.kind == Payment.Kind.PAYMENT:
        emit(
            "payment.received",
            payment_id=entry.pk,
            invoice_id=entry.invoice_id,
            amount=entry.amount,
            currency=entry.currency,
            method=entry.method,
        )
    elif entry.kind == Payment.Kind.REFUND:
        emit(
            "payment.refunded",
            refund_id=entry.pk,
            payment_id=refunded.pk if refunded is not None else None,
            invoice_id=entry.invoice_id,
            amount=entry.amount,
            currency=entry.currency,
        )


def _move_balance(invoice: Invoice, *, paid_delta: int) -> None:
    """The ledger's effect on the invoice; a cancelled one keeps its status (the owner is
    told and refunds)."""
    if invoice.status == Invoice.Status.CANCELLED:
        invoice.amount_paid += paid_delta
        invoice.version += 1
        invoice.save(update_fields=["amount_paid", "version", "updated_at"])
        return
    apply_ledger_entry(invoice=invoice, paid_delta=paid_delta)


def post_ledger_entry(
    *,
    invoice: Invoice,
    kind: str,
    amount: int,
    currency: str,
    method: str,
    occurred_at: datetime,
    reference: str = "",
    provider: str = "manual",
    provider_id: str | None = None,
    recorded_by: int | None = None,
) -> Payment:
    """Write one ledger row on `invoice` (the caller holds its row lock and has checked the
    amount) and move its balance: a payment or a reversal adds `amount`, a refund takes it
    away."""
    entry = Payment.objects.create(
        invoice=invoice,
        kind=kind,
        amount=amount,
        currency=currency,
        method=method,
        reference=reference,
        provider=provider,
        provider_id=provider_id,
        occurred_at=occurred_at,
        recorded_by=recorded_by,
    )
    _move_balance(invoice, paid_delta=-amount if kind == Payment.Kind.REFUND else amount)
    return entry
