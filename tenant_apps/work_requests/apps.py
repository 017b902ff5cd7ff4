from django.apps import AppConfig


class WorkRequestsConfig(AppConfig):
    """Customers asking for work from their link (what, where, photos, when suits them);
    staff turn a request into an appointment or a draft quote, or close it."""

    name = "tenant_apps.work_requests"
    label = "work_requests"

    def ready(self) -> None:
        from tenant_apps.customers.history import register_history_source
        from tenant_apps.files.parents import register_parent
        from tenant_apps.work_requests.queries import get_work_request, work_request_history

        register_history_source("work_request", work_request_history)
        register_parent("work_request", lambda row_id: get_work_request(work_request_id=row_id))
