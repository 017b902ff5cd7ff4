from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "shared_apps.webhooks"
    label = "webhooks"

    def ready(self) -> None:
        from shared_apps.tenants.services import register_settings_hook
        from shared_apps.webhooks.routes import claim_setting_routes

        register_settings_hook(claim_setting_routes)
