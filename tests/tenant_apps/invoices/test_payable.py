"""Which invoices take payments is one rule (Invoice.PAYABLE_STATUSES, `takes_payment`): the
manual ledger, the pay link on the PDF, the pay page and the dunning texts all read it."""

import pytest

from shared_apps.errors import Conflict
from tenant_apps.invoices import services
from tenant_apps.invoices.models import Invoice
from tenant_apps.payments.models import StripeAccount
from tenant_apps.payments.services import record_manual_payment
from tests.tenant_apps.invoices import factories


def cancelled_invoice(tenant) -> Invoice:
    invoice = factories.sent_invoice(tenant)
    return services.change_invoice_status(tenant=tenant, invoice_id=invoice.pk, status=Invoice.Status.CANCELLED)


KINDS = {
    "draft": (factories.draft_invoice, False),
    "sent": (factories.sent_invoice, True),
    "partly paid": (factories.partly_paid_invoice, True),
    "overdue": (factories.overdue_invoice, True),
    "paid": (factories.paid_invoice, False),
    "cancelled": (cancelled_invoice, False),
}


def accepts_cash(invoice: Invoice) -> bool:
    try:
        record_manual_payment(invoice_id=invoice.pk, amount=1, method="cash")
    except Conflict as refused:
        assert refused.code == "invoice_not_payable"
        return False
    return True


@pytest.mark.parametrize("kind", KINDS)
def test_only_a_sent_unpaid_invoice_takes_payment_and_prints_a_pay_link(tenant_a, kind):
    make, payable = KINDS[kind]
    with tenant_a.schema():
        StripeAccount.objects.create(account_id="acct_payable", charges_enabled=True)
        invoice = make(tenant_a.tenant)
        pay_url = invoice.pdf_fields()["pay_url"]

        assert (invoice.takes_payment, pay_url is not None, accepts_cash(invoice)) == (payable, payable, payable)
