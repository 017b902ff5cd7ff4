"""Reading the payments ledger."""

from django.db.models import QuerySet

from tenant_apps.billing.totals import format_money
from tenant_apps.customers.history import HistoryEntry, HistoryWindow
from tenant_apps.payments.models import Payment, PaymentNotice


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
