from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "tenant_apps.payments"
    label = "payments"

    def ready(self) -> None:
        from shared_apps.stats.sources import register_usage_source
        from shared_apps.webhooks.handlers import register_webhook_handler
        from shared_apps.webhooks.stripe import PROVIDER
        from tenant_apps.customers.history import register_history_source
        from tenant_apps.invoices.models import register_pay_link
        from tenant_apps.payments.events import handle_stripe_event
        from tenant_apps.payments.pay_links import card_pay_link
        from tenant_apps.payments.queries import card_volume, payment_history, payment_notice_history

        register_history_source("payment", payment_history)
        register_history_source("payment_notice", payment_notice_history)
        register_webhook_handler(PROVIDER, handle_stripe_event)
        register_pay_link(card_pay_link)
        register_usage_source("card_volume", card_volume)
