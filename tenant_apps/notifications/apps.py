from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """What the business's customers are told when something happens: automatic texts,
    reminders, dunning texts and document emails. It subscribes to domain events and fills
    the text channel's template variables; no other app imports it."""

    name = "tenant_apps.notifications"
    label = "notifications"

    def ready(self) -> None:
        from shared_apps.tenants.sections import register_settings_section
        from tenant_apps.notifications import subscribers, template_sources
        from tenant_apps.notifications.settings_section import SECTION as settings_section

        subscribers.subscribe_all()
        template_sources.register_all()
        register_settings_section(settings_section)
