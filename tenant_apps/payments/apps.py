from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "tenant_apps.payments"
    label = "payments"

    def ready(self) -> None:
        from tenant_apps.customers.history import register_history_source
        from tenant_apps.payments.queries import payment_history

        register_history_source("payment", payment_history)
