"""Quotes' part of the business's settings (shared_apps/tenants/sections.py)."""

from shared_apps.tenants.sections import SettingsSection, bounded, document_prefix
from tenant_apps.quotes.models import QuoteSettings

SECTION = SettingsSection(
    name="quotes",
    model=QuoteSettings,
    validators={
        "quote_validity_days": lambda value: bounded("quote_validity_days", value, 1, 365),
        "quote_prefix": lambda value: document_prefix("quote_prefix", value),
    },
)
