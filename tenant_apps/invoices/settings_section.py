"""Invoices' part of the business's settings (shared_apps/tenants/sections.py)."""

from shared_apps.tenants.sections import SettingsSection, bounded, document_prefix
from tenant_apps.invoices.models import InvoiceSettings

SECTION = SettingsSection(
    name="invoices",
    model=InvoiceSettings,
    validators={
        "payment_terms_days": lambda value: bounded("payment_terms_days", value, 0, 365),
        "invoice_prefix": lambda value: document_prefix("invoice_prefix", value),
    },
)
