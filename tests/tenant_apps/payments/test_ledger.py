"""Posting to the ledger: one row and the invoice's balance together, the direction given by
the row's kind; a cancelled invoice keeps its status (the owner refunds)."""

from datetime import UTC, datetime

import pytest

from tenant_apps.invoices import services as invoice_services
from tenant_apps.invoices.models import Invoice
from tenant_apps.invoices.services import lock_invoice
from tenant_apps.payments.ledger import post_ledger_entry
from tenant_apps.payments.models import Payment
from tests.tenant_apps.invoices import factories

AT = datetime(2026, 3, 2, 12, tzinfo=UTC)


def post(invoice: Invoice, kind: str, amount: int) -> Invoice:
    locked = lock_invoice(invoice_id=invoice.pk)
    post_ledger_entry(invoice=locked, kind=kind, amount=amount, currency="usd", method="card", occurred_at=AT)
    return Invoice.objects.get(pk=invoice.pk)


@pytest.mark.parametrize(
    ("kind", "paid_after", "status_after"),
    [
        (Payment.Kind.PAYMENT, 2, Invoice.Status.PARTIALLY_PAID),
        (Payment.Kind.REVERSAL, 2, Invoice.Status.PARTIALLY_PAID),
        (Payment.Kind.REFUND, 0, Invoice.Status.SENT),
    ],
)
def test_each_kind_moves_the_balance_its_way_with_its_row(tenant_a, kind, paid_after, status_after):
    with tenant_a.schema():
        invoice = factories.partly_paid_invoice(tenant_a.tenant)  # 1 paid in cash

        after = post(invoice, kind, 1)

        rows = list(Payment.objects.filter(invoice=invoice, kind=kind, method="card").values_list("amount", flat=True))
    assert (after.amount_paid, after.status, after.version, rows) == (
        paid_after,
        status_after,
        invoice.version + 1,
        [1],
    )


def test_a_cancelled_invoice_takes_the_money_and_stays_cancelled(tenant_a):
    with tenant_a.schema():
        sent = factories.sent_invoice(tenant_a.tenant)
        cancelled = invoice_services.change_invoice_status(
            tenant=tenant_a.tenant, invoice_id=sent.pk, status=Invoice.Status.CANCELLED
        )

        after = post(cancelled, Payment.Kind.PAYMENT, 5)

    assert (after.amount_paid, after.credit, after.status) == (5, 0, Invoice.Status.CANCELLED)
