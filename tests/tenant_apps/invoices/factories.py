"""Documents for tests, made through the services so their stored totals are the real ones.
Call inside `with tenant.schema():`."""

from datetime import UTC, date, datetime
from typing import Any

from shared_apps.tenants.models import Tenant
from tenant_apps.invoices import services
from tenant_apps.invoices.models import Invoice
from tenant_apps.payments.services import record_manual_payment
from tests.tenant_apps.billing.factories import draft_fields


def draft_invoice(tenant: Tenant, **overrides: Any) -> Invoice:
    return services.create_invoice(tenant=tenant, **draft_fields(**overrides))


def sent_invoice(tenant: Tenant, **overrides: Any) -> Invoice:
    invoice = draft_invoice(tenant, **overrides)
    return services.change_invoice_status(tenant=tenant, invoice_id=invoice.pk, status=Invoice.Status.SENT)


def partly_paid_invoice(tenant: Tenant) -> Invoice:
    invoice = sent_invoice(tenant)
    record_manual_payment(invoice_id=invoice.pk, amount=1, method="cash")
    return Invoice.objects.get(pk=invoice.pk)


def paid_invoice(tenant: Tenant) -> Invoice:
    invoice = sent_invoice(tenant)
    record_manual_payment(invoice_id=invoice.pk, amount=invoice.total, method="cash")
    return Invoice.objects.get(pk=invoice.pk)


def overdue_invoice(tenant: Tenant) -> Invoice:
    invoice = sent_invoice(tenant, due_date=date(2026, 1, 1))
    services.mark_overdue_invoices(tenant=tenant, now=datetime(2026, 6, 1, tzinfo=UTC))
    return Invoice.objects.get(pk=invoice.pk)


def cancelled_invoice(tenant: Tenant) -> Invoice:
    invoice = sent_invoice(tenant)
    return services.change_invoice_status(tenant=tenant, invoice_id=invoice.pk, status=Invoice.Status.CANCELLED)


# An invoice in each status, made the way it gets there.
INVOICE_IN = {
    Invoice.Status.DRAFT: draft_invoice,
    Invoice.Status.SENT: sent_invoice,
    Invoice.Status.PARTIALLY_PAID: partly_paid_invoice,
    Invoice.Status.PAID: paid_invoice,
    Invoice.Status.OVERDUE: overdue_invoice,
    Invoice.Status.CANCELLED: cancelled_invoice,
}
