from django.apps import AppConfig


class QuotesConfig(AppConfig):
    name = "tenant_apps.quotes"
    label = "quotes"

    def ready(self) -> None:
        from shared_apps.tenants.sections import register_settings_section
        from tenant_apps.customers.history import register_history_source
        from tenant_apps.files.parents import register_parent
        from tenant_apps.quotes.queries import get_quote, quote_answer_history, quote_history
        from tenant_apps.quotes.settings_section import SECTION as settings_section

        register_history_source("quote", quote_history)
        register_history_source("quote_answer", quote_answer_history)
        register_settings_section(settings_section)
        register_parent("quote", lambda row_id: get_quote(quote_id=row_id))
