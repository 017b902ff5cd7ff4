"""Request context (request id, tenant, user) carried into every log line."""

import logging
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
tenant_var: ContextVar[str] = ContextVar("tenant", default="-")
user_var: ContextVar[str] = ContextVar("user", default="-")


class RequestContextFilter(logging.Filter):
    """Adds request_id, tenant and user to each record for the JSON formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.tenant = tenant_var.get()
        record.user = user_var.get()
        return True
