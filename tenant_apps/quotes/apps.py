from django.apps import AppConfig


class QuotesConfig(AppConfig):
    name = "tenant_apps.quotes"
    label = "quotes"

    def ready(self) -> None:
        from tenant_apps.customers.history import register_history_source
        from tenant_apps.quotes.queries import quote_history

        register_history_source("quote", quote_history)
