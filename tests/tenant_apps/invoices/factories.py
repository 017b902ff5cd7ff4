"""Documents for tests, made through the services so their stored totals are the real ones.
Call inside `with tenant.schema():`."""

from decimal import Decimal
from typing import Any

from shared_apps.tenants.models import Tenant
from tenant_apps.billing.items import ItemInput
from tenant_apps.invoices import services
from tenant_apps.invoices.models import Invoice
from tests.factories import CustomerFactory


def item(**overrides: Any) -> ItemInput:
    """One line: 2 x 19.99 at 8.25 % unless told otherwise."""
    values: dict[str, Any] = {
        "description": "Labour",
        "quantity": Decimal("2"),
        "unit_price": 1999,
        "tax_rate": Decimal("8.25"),
        "discount": 0,
    }
    return ItemInput(**(values | overrides))


def draft_invoice(tenant: Tenant, **overrides: Any) -> Invoice:
    values: dict[str, Any] = {"items": [item()]}
    if "customer_id" not in overrides:
        values["customer_id"] = CustomerFactory().pk
    return services.create_invoice(tenant=tenant, **(values | overrides))


def sent_invoice(tenant: Tenant, **overrides: Any) -> Invoice:
    invoice = draft_invoice(tenant, **overrides)
    return services.change_invoice_status(tenant=tenant, invoice_id=invoice.pk, status=Invoice.Status.SENT)
