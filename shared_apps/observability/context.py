"""What the current request or job is about (request id, tenant schema, user), for log lines,
spans and error reports. Set by the HTTP middleware and by the worker around each job."""

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
tenant_var: ContextVar[str] = ContextVar("tenant", default="-")
user_var: ContextVar[str] = ContextVar("user", default="-")
