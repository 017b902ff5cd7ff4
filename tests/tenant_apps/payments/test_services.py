from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from shared_apps.errors import Conflict
from tenant_apps.invoices.models import Invoice
from tenant_apps.invoices.services import mark_overdue_invoices
from tenant_apps.payments.models import Payment
from tenant_apps.payments.services import record_manual_payment, record_refund
from tests.tenant_apps.billing.factories import item
from tests.tenant_apps.invoices.factories import sent_invoice

Status = Invoice.Status


def test_payments_move_the_balance_and_the_status(tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(
            tenant_a.tenant, items=[item(quantity=Decimal(1), unit_price=10000, tax_rate=Decimal(0))]
        )

        record_manual_payment(invoice_id=invoice.pk, amount=2500, method="cash")
        partly = Invoice.objects.get(pk=invoice.pk)
        record_manual_payment(invoice_id=invoice.pk, amount=7500, method="check", reference="#104")
        paid = Invoice.objects.get(pk=invoice.pk)

    assert (partly.status, partly.amount_paid, partly.amount_due) == (Status.PARTIALLY_PAID, 2500, 7500)
    assert (paid.status, paid.amount_paid, paid.amount_due) == (Status.PAID, 10000, 0)


def test_overpayment_is_refused_and_records_nothing(tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)

        with pytest.raises(Conflict) as refused:
            record_manual_payment(invoice_id=invoice.pk, amount=invoice.total + 1, method="cash")
        rows = Payment.objects.filter(invoice=invoice).count()

    assert refused.value.code == "overpayment"
    assert rows == 0


def test_a_paid_invoice_takes_no_more_payments(tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
        record_manual_payment(invoice_id=invoice.pk, amount=invoice.total, method="cash")

        with pytest.raises(Conflict) as refused:
            record_manual_payment(invoice_id=invoice.pk, amount=1, method="cash")

    assert refused.value.code == "invoice_not_payable"


def test_payment_on_an_overdue_invoice_moves_it_to_partly_paid_then_paid(tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant, due_date=date(2026, 1, 1))
        mark_overdue_invoices(tenant=tenant_a.tenant, now=datetime(2026, 2, 1, tzinfo=UTC))

        record_manual_payment(invoice_id=invoice.pk, amount=100, method="bank_transfer")
        partly = Invoice.objects.get(pk=invoice.pk).status
        record_manual_payment(invoice_id=invoice.pk, amount=invoice.total - 100, method="bank_transfer")
        paid = Invoice.objects.get(pk=invoice.pk).status

    assert (partly, paid) == (Status.PARTIALLY_PAID, Status.PAID)


def test_refunds_reopen_the_balance(tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(
            tenant_a.tenant, items=[item(quantity=Decimal(1), unit_price=10000, tax_rate=Decimal(0))]
        )
        record_manual_payment(invoice_id=invoice.pk, amount=10000, method="cash")

        record_refund(invoice_id=invoice.pk, amount=4000, method="cash")
        partly = Invoice.objects.get(pk=invoice.pk)
        record_refund(invoice_id=invoice.pk, amount=6000, method="cash")
        refunded = Invoice.objects.get(pk=invoice.pk)
        ledger = list(Payment.objects.filter(invoice=invoice).order_by("id").values_list("kind", "amount"))

    assert (partly.status, partly.amount_due) == (Status.PARTIALLY_PAID, 4000)
    assert (refunded.status, refunded.amount_paid) == (Status.SENT, 0)
    assert ledger == [("payment", 10000), ("refund", 4000), ("refund", 6000)]


def test_refund_above_what_was_paid_is_refused(tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
        record_manual_payment(invoice_id=invoice.pk, amount=100, method="cash")

        with pytest.raises(Conflict) as refused:
            record_refund(invoice_id=invoice.pk, amount=101, method="cash")

    assert refused.value.code == "refund_exceeds_paid"


def test_a_provider_payment_id_is_recorded_once(tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
        record_manual_payment(invoice_id=invoice.pk, amount=100, method="cash")
        record_refund(invoice_id=invoice.pk, amount=50, method="card", provider="stripe", provider_id="re_1")

        with pytest.raises(IntegrityError), transaction.atomic():
            record_refund(invoice_id=invoice.pk, amount=50, method="card", provider="stripe", provider_id="re_1")
