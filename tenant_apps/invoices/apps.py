from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "tenant_apps.invoices"
    label = "invoices"

    def ready(self) -> None:
        from shared_apps.tenants.sections import register_settings_section
        from tenant_apps.customers.history import register_history_source
        from tenant_apps.files.parents import register_parent
        from tenant_apps.invoices.queries import get_invoice, invoice_history
        from tenant_apps.invoices.settings_section import SECTION as settings_section

        register_history_source("invoice", invoice_history)
        register_settings_section(settings_section)
        register_parent("invoice", lambda row_id: get_invoice(invoice_id=row_id))
