from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "tenant_apps.invoices"
    label = "invoices"

    def ready(self) -> None:
        from tenant_apps.customers.history import register_history_source
        from tenant_apps.files.parents import register_parent
        from tenant_apps.invoices.queries import get_invoice, invoice_history

        register_history_source("invoice", invoice_history)
        register_parent("invoice", lambda row_id: get_invoice(invoice_id=row_id))
