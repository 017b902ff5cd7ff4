from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class TenantsConfig(AppConfig):
    name = "shared_apps.tenants"
    label = "tenants"

    def ready(self) -> None:
        from shared_apps.tenants import signals  # noqa: F401 - connects the receivers


class PlatformAdminConfig(admin_apps.AdminConfig):
    default = False  # AdminConfig's own flag would make it this module's default app config
    default_site = "shared_apps.tenants.admin_site.PublicHostOnlyAdminSite"
