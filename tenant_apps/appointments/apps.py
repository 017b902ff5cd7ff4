from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "tenant_apps.appointments"
    label = "appointments"

    def ready(self) -> None:
        from shared_apps.tenants.sections import register_settings_section
        from tenant_apps.appointments.queries import appointment_history, get_appointment
        from tenant_apps.appointments.settings_section import SECTION as settings_section
        from tenant_apps.customers.history import register_history_source
        from tenant_apps.files.parents import register_parent

        register_history_source("appointment", appointment_history)
        register_settings_section(settings_section)
        register_parent("appointment", lambda row_id: get_appointment(appointment_id=row_id))
