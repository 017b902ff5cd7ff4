from django.apps import AppConfig


class BillingConfig(AppConfig):
    """What quotes and invoices share: document and item columns, numbering, totals, PDFs."""

    name = "tenant_apps.billing"
    label = "billing"
