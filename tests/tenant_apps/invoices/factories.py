"""Documents for tests, made through the services so their stored totals are the real ones.
Call inside `with tenant.schema():`."""

from typing import Any

from shared_apps.tenants.models import Tenant
from tenant_apps.invoices import services
from tenant_apps.invoices.models import Invoice
from tests.tenant_apps.billing.factories import draft_fields


def draft_invoice(tenant: Tenant, **overrides: Any) -> Invoice:
    return services.create_invoice(tenant=tenant, **draft_fields(**overrides))


def sent_invoice(tenant: Tenant, **overrides: Any) -> Invoice:
    invoice = draft_invoice(tenant, **overrides)
    return services.change_invoice_status(tenant=tenant, invoice_id=invoice.pk, status=Invoice.Status.SENT)
