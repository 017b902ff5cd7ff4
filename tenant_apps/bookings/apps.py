from django.apps import AppConfig


class BookingsConfig(AppConfig):
    """Customers booking the business's services online, from their link: straight into the
    calendar, or as requests staff accept or decline (the business's setting)."""

    name = "tenant_apps.bookings"
    label = "bookings"

    def ready(self) -> None:
        from tenant_apps.bookings.queries import booking_request_history
        from tenant_apps.customers.history import register_history_source

        register_history_source("booking_request", booking_request_history)
