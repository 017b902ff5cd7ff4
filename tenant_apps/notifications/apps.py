from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """What the business's customers are told when something happens: automatic texts,
    reminders, dunning texts and document emails. It subscribes to domain events and fills
    the text channel's template variables; no other app imports it."""

    name = "tenant_apps.notifications"
    label = "notifications"

    def ready(self) -> None:
        from tenant_apps.notifications import subscribers, template_sources

        subscribers.subscribe_all()
        template_sources.register_all()
