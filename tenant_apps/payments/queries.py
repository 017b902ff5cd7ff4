"""Reading the payments ledger."""

from datetime import datetime

from django.db.models import QuerySet, Sum

from shared_apps.webhooks import stripe
from tenant_apps.billing.totals import format_money
from tenant_apps.customers.history import HistoryEntry, HistoryWindow
from tenant_apps.payments.models import Payment, PaymentNotice


def find_card_payment(*, payment_intent_id: str, charge_id: str) -> Payment | None:
    """The card payment of a Stripe intent or, failing that, of its charge (its reference)."""
    card_payments = Payment.objects.filter(provider=stripe.PROVIDER, kind=Payment.Kind.PAYMENT)
    if payment_intent_id:
        found = card_payments.filter(provider_id=payment_intent_id).first()
        if found is not None:
            return found
    return card_payments.filter(reference=charge_id).first() if charge_id else None


def list_invoice_payments(*, invoice_id: int) -> QuerySet[Payment]:
    """The ledger rows of one invoice, newest first."""
    return Payment.objects.filter(invoice_id=invoice_id)


def payment_history(customer_id: int, window: HistoryWindow) -> list[HistoryEntry]:
    """The customer's payments and refunds for their timeline, newest first, in one query."""
    payments = window.rows(
        Payment.objects.filter(invoice__customer_id=customer_id).select_related("invoice"), time_field="occurred_at"
    )
    return [
        HistoryEntry(
            kind="payment",
            id=payment.pk,
            occurred_at=payment.occurred_at,
            title=(
                f"{payment.get_kind_display()} of {format_money(payment.amount, payment.currency)}"
                f" on invoice {payment.invoice.number}"
            ),
            status=payment.kind,
            data={
                "kind": payment.kind,
                "amount": payment.amount,
                "currency": payment.currency,
                "method": payment.method,
                "invoice_id": payment.invoice_id,
            },
        )
        for payment in payments
    ]


def payment_notice_history(customer_id: int, window: HistoryWindow) -> list[HistoryEntry]:
    """Declined cards, disputes and overpayments of the customer's invoices, for the owner."""
    notices = window.rows(
        PaymentNotice.objects.filter(invoice__customer_id=customer_id).select_related("invoice"),
        time_field="occurred_at",
    )
    return [
        HistoryEntry(
            kind="payment_notice",
            id=notice.pk,
            occurred_at=notice.occurred_at,
            title=notice.message,
            status=notice.kind,
            data={"kind": notice.kind, "invoice_id": notice.invoice_id, **notice.data},
        )
        for notice in notices
    ]


def list_payments(*, invoice_id: int | None = None) -> QuerySet[Payment]:
    """Ledger rows (payments and refunds), newest first, optionally of one invoice."""
    payments = Payment.objects.all()
    return payments.filter(invoice_id=invoice_id) if invoice_id is not None else payments


def card_volume(since: datetime) -> int:
    """Card payments taken through Stripe since `since`, in minor units of the business's
    currency, before refunds (usage stats)."""
    return Payment.objects.filter(
        kind=Payment.Kind.PAYMENT, provider=stripe.PROVIDER, occurred_at__gte=since
    ).aggregate(total=Sum("amount", default=0))["total"]
