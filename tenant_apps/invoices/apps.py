from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "tenant_apps.invoices"
    label = "invoices"

    def ready(self) -> None:
        from tenant_apps.customers.history import register_history_source
        from tenant_apps.invoices.queries import invoice_history

        register_history_source("invoice", invoice_history)
