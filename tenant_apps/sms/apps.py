from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "tenant_apps.sms"
    label = "sms"

    def ready(self) -> None:
        from shared_apps.stats.sources import register_usage_source
        from shared_apps.tenants.sections import register_settings_section
        from shared_apps.webhooks import twilio
        from shared_apps.webhooks.handlers import register_webhook_handler
        from tenant_apps.customers.history import register_history_source
        from tenant_apps.files.parents import register_parent
        from tenant_apps.sms.queries import require_message, sent_segments, sms_history
        from tenant_apps.sms.services import handle_twilio_event
        from tenant_apps.sms.settings_section import SECTION as settings_section

        register_webhook_handler(twilio.PROVIDER, handle_twilio_event)
        register_history_source("sms", sms_history)
        register_settings_section(settings_section)
        register_parent("message", require_message)
        register_usage_source("sms_segments", sent_segments)
