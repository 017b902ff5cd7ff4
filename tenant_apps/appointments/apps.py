from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "tenant_apps.appointments"
    label = "appointments"

    def ready(self) -> None:
        from tenant_apps.appointments.queries import appointment_history
        from tenant_apps.customers.history import register_history_source

        register_history_source("appointment", appointment_history)
