from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "tenant_apps.portal"
    label = "portal"

    def ready(self) -> None:
        from tenant_apps.customers.history import register_history_source
        from tenant_apps.portal.queries import portal_link_history

        register_history_source("portal_link", portal_link_history)
