from django.apps import AppConfig


class VoiceConfig(AppConfig):
    name = "tenant_apps.voice"
    label = "voice"

    def ready(self) -> None:
        from shared_apps.stats.sources import register_usage_source
        from shared_apps.tenants.sections import register_settings_section
        from shared_apps.webhooks import vapi
        from shared_apps.webhooks.handlers import register_webhook_handler
        from tenant_apps.customers.history import register_history_source
        from tenant_apps.voice.events import handle_vapi_event
        from tenant_apps.voice.queries import call_history, call_seconds
        from tenant_apps.voice.settings_section import SECTION as settings_section

        register_webhook_handler(vapi.PROVIDER, handle_vapi_event)
        register_history_source("call", call_history)
        register_settings_section(settings_section)
        register_usage_source("call_seconds", call_seconds)
