"""The rules for the payments ledger: every payment or refund is a row, written under the
invoice's row lock together with the invoice's new balance and status."""

from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from shared_apps.audit import services as audit
from shared_apps.errors import Conflict, ValidationFailed
from shared_apps.tenants.queries import current_tenant_id
from tenant_apps.invoices.models import Invoice
from tenant_apps.invoices.services import (
    REFUNDABLE_STATUSES,
    lock_invoice,
    require_invoice,
)
from tenant_apps.payments import queries
from tenant_apps.payments.ledger import payment_recorded, post_ledger_entry
from tenant_apps.payments.models import Payment

MANUAL_METHODS = frozenset(
    {Payment.Method.CASH, Payment.Method.CHECK, Payment.Method.BANK_TRANSFER, Payment.Method.OTHER}
)


def list_invoice_payments(*, invoice_id: int) -> QuerySet[Payment]:
    """The invoice's ledger rows, newest first; 404 when the invoice is not in this tenant."""
    require_invoice(invoice_id=invoice_id)
    return queries.list_invoice_payments(invoice_id=invoice_id)


def record_manual_payment(
    *,
    invoice_id: int,
    amount: int,
    method: str,
    reference: str = "",
    occurred_at: datetime | None = None,
    recorded_by: int | None = None,
) -> Payment:
    """Record money the business received outside the card provider (cash, check, bank
    transfer). Only SENT, PARTIALLY_PAID or OVERDUE invoices take payments; more than the
    amount due is refused (409 `overpayment`); the invoice's status follows its balance."""
    if amount <= 0:
        raise ValidationFailed("amount must be positive.", details=[{"field": "amount"}])
    if method not in MANUAL_METHODS:
        raise ValidationFailed(f"{method!r} is not a manual payment method.", details=[{"field": "method"}])
    with transaction.atomic():
        invoice = lock_invoice(invoice_id=invoice_id)
        if invoice.status not in Invoice.PAYABLE_STATUSES:
            raise Conflict(
                f"A {invoice.status} invoice does not take payments.",
                code="invoice_not_payable",
                details=[{"status": invoice.status}],
            )
        if amount > invoice.amount_due:
            raise Conflict(
                "The payment is more than the amount due.",
                code="overpayment",
                details=[{"amount_due": invoice.amount_due}],
            )
        payment = post_ledger_entry(
            invoice=invoice,
            kind=Payment.Kind.PAYMENT,
            amount=amount,
            currency=invoice.currency,
            method=method,
            reference=reference,
            occurred_at=occurred_at or timezone.now(),
            recorded_by=recorded_by,
        )
        payment_recorded(payment)
    return payment


def record_refund(
    *,
    invoice_id: int,
    amount: int,
    method: str,
    reference: str = "",
    provider: str = "manual",
    provider_id: str | None = None,
    occurred_at: datetime | None = None,
    recorded_by: int | None = None,
) -> Payment:
    """Record money returned to the customer: a `refund` row that reopens the balance (a
    PAID invoice goes back to PARTIALLY_PAID, or SENT when nothing is left paid). More than
    what was paid is refused (409 `refund_exceeds_paid`)."""
    if amount <= 0:
        raise ValidationFailed("amount must be positive.", details=[{"field": "amount"}])
    with transaction.atomic():
        invoice = lock_invoice(invoice_id=invoice_id)
        if invoice.status not in REFUNDABLE_STATUSES:
            raise Conflict(
                f"A {invoice.status} invoice cannot be refunded.",
                code="invoice_not_refundable",
                details=[{"status": invoice.status}],
            )
        if amount > invoice.amount_paid:
            raise Conflict(
                "The refund is more than what was paid.",
                code="refund_exceeds_paid",
                details=[{"amount_paid": invoice.amount_paid}],
            )
        refund = post_ledger_entry(
            invoice=invoice,
            kind=Payment.Kind.REFUND,
            amount=amount,
            currency=invoice.currency,
            method=method,
            reference=reference,
            provider=provider,
            provider_id=provider_id,
            occurred_at=occurred_at or timezone.now(),
            recorded_by=recorded_by,
        )
        audit.record(
            tenant_id=current_tenant_id(),
            action="payment.refund_recorded",
            target=f"invoice:{invoice_id}",
            details={"amount": amount, "currency": invoice.currency, "method": method, "provider": provider},
        )
        payment_recorded(refund)
    return refund
