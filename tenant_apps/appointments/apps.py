from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "tenant_apps.appointments"
    label = "appointments"

    def ready(self) -> None:
        from shared_apps.tenants.sections import register_settings_section
        from tenant_apps.appointments.queries import appointment_history
        from tenant_apps.appointments.settings_section import SECTION as settings_section
        from tenant_apps.customers.history import register_history_source

        register_history_source("appointment", appointment_history)
        register_settings_section(settings_section)
