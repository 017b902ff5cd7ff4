from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Outbound webhooks: the business's own endpoints, to which every domain event they chose
    is delivered, signed to the Standard Webhooks specification. It subscribes to domain events
    (on top of the layers, like notifications); no other app imports it."""

    name = "tenant_apps.integrations"
    label = "integrations"

    def ready(self) -> None:
        from tenant_apps.integrations import subscribers

        subscribers.subscribe_all()
