from copy import copy
from datetime import UTC, date, datetime

import pytest

from shared_apps.errors import Conflict, ValidationFailed
from tenant_apps.customers.history import customer_history
from tenant_apps.invoices.models import Invoice
from tenant_apps.invoices.services import (
    change_invoice_status,
    mark_overdue_invoices,
    update_invoice,
)
from tenant_apps.payments.services import record_manual_payment
from tests.factories import CustomerFactory
from tests.tenant_apps.billing.factories import item
from tests.tenant_apps.invoices.factories import INVOICE_IN, draft_invoice, overdue_invoice, sent_invoice
from tests.tenant_apps.quotes.factories import sent_quote

Status = Invoice.Status


def test_an_invoice_with_nothing_to_pay_is_paid_when_sent(tenant_a):
    with tenant_a.schema():
        invoice = draft_invoice(tenant_a.tenant, items=[item(unit_price=0)])

        sent = change_invoice_status(tenant=tenant_a.tenant, invoice_id=invoice.pk, status=Status.SENT)

    assert (sent.status, sent.amount_due) == (Status.PAID, 0)


def test_changing_the_discount_reprices_every_line(tenant_a):
    with tenant_a.schema():
        invoice = draft_invoice(tenant_a.tenant, items=[item(unit_price=1000), item(unit_price=3000)])

        updated = update_invoice(
            tenant=tenant_a.tenant, invoice_id=invoice.pk, version=1, changes={"document_discount": 400}
        )
        lines = list(updated.items.values_list("total", flat=True))

    assert sum(lines) == updated.total
    assert updated.discount_total == 400


def test_a_document_discount_above_the_lines_is_400(tenant_a):
    with tenant_a.schema(), pytest.raises(ValidationFailed) as refused:
        draft_invoice(tenant_a.tenant, document_discount=10**9)

    assert refused.value.details[0]["field"] == "document_discount"


# due_date 2026-11-02 ends at 05:00 UTC in New York (EST after 1 November) and at
# 2026-11-01 11:00 UTC in Auckland (NZDT, UTC+13).
OVERDUE_AT = [
    ("America/New_York", datetime(2026, 11, 3, 4, 59, 59, tzinfo=UTC), datetime(2026, 11, 3, 5, 0, tzinfo=UTC)),
    ("Pacific/Auckland", datetime(2026, 11, 2, 10, 59, 59, tzinfo=UTC), datetime(2026, 11, 2, 11, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(("zone", "last_on_time", "first_overdue"), OVERDUE_AT)
def test_overdue_after_the_end_of_the_local_due_date(tenant_a, zone, last_on_time, first_overdue):
    tenant = copy(tenant_a.tenant)
    tenant.timezone = zone
    with tenant_a.schema():
        invoice = sent_invoice(tenant, due_date=date(2026, 11, 2))

        early = mark_overdue_invoices(tenant=tenant, now=last_on_time)
        on_time = mark_overdue_invoices(tenant=tenant, now=first_overdue)
        invoice.refresh_from_db()

    assert (early, on_time) == (0, 1)
    assert invoice.status == Status.OVERDUE


def test_overdue_covers_partly_paid_and_skips_drafts_paid_and_cancelled(tenant_a):
    with tenant_a.schema():
        made = [make(tenant_a.tenant).pk for make in INVOICE_IN.values()]
        Invoice.objects.filter(pk__in=made).update(due_date=date(2026, 1, 1))

        count = mark_overdue_invoices(tenant=tenant_a.tenant, now=datetime(2026, 6, 1, tzinfo=UTC))
        statuses = sorted(Invoice.objects.values_list("status", flat=True))

    # SENT and PARTIALLY_PAID become overdue; the one made OVERDUE stays so.
    assert count == 2
    assert statuses == sorted(["DRAFT", "OVERDUE", "OVERDUE", "PAID", "OVERDUE", "CANCELLED"])


def test_cancelling_an_invoice_with_money_on_it_is_409(tenant_a):
    with tenant_a.schema():
        invoice = overdue_invoice(tenant_a.tenant)
        record_manual_payment(invoice_id=invoice.pk, amount=1, method="cash")
        mark_overdue_invoices(tenant=tenant_a.tenant, now=datetime(2026, 6, 1, tzinfo=UTC))

        with pytest.raises(Conflict) as refused:
            change_invoice_status(tenant=tenant_a.tenant, invoice_id=invoice.pk, status=Status.CANCELLED)

    assert refused.value.code == "invoice_has_payments"


def test_documents_and_payments_appear_in_the_customers_history(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory()
        quote = sent_quote(tenant_a.tenant, customer_id=customer.pk)
        invoice = sent_invoice(tenant_a.tenant, customer_id=customer.pk)
        payment = record_manual_payment(invoice_id=invoice.pk, amount=500, method="cash")

        entries, _ = customer_history(customer_id=customer.pk, limit=10)

    assert {(entry.kind, entry.id) for entry in entries} == {
        ("quote", quote.pk),
        ("invoice", invoice.pk),
        ("payment", payment.pk),
    }
    assert [entry.title for entry in entries if entry.kind == "payment"] == [
        f"Payment of $5.00 on invoice {invoice.number}"
    ]
