"""The tracer of the spans this project's own hooks make on every request: the request's span
(server_spans), SQL statements and Redis commands (client_spans). Those hooks choose each
attribute and clean it where they set it (a statement's literals, the Host header), and give
the tenant and request id as the span starts. So the scrubbing processor (tracing.py) only
checks these spans' exception events and status; its full check of every attribute is for
the other spans (httpx's, the provider calls', the jobs'), which are a few per trace."""

from contextvars import ContextVar
from typing import Any

from opentelemetry import trace

from shared_apps.observability.context import request_id_var, tenant_var

SCOPE = "servicedesk.hooks"
TENANT_ATTRIBUTE = "servicedesk.tenant_schema"
REQUEST_ID_ATTRIBUTE = "servicedesk.request_id"

tracer = trace.get_tracer(SCOPE)


def with_request_context(attributes: dict[str, Any]) -> dict[str, Any]:
    """`attributes` (changed in place) with the tenant and request id known now."""
    tenant, request_id = tenant_var.get(), request_id_var.get()
    if tenant != "-":
        attributes[TENANT_ATTRIBUTE] = tenant
    if request_id != "-":
        attributes[REQUEST_ID_ATTRIBUTE] = request_id
    return attributes


class Folded:
    """The SQL statements and Redis commands of one request or job that were too quick for a
    span of their own (client_spans): how many, and their time, for that request's or job's
    span."""

    __slots__ = ("redis_count", "redis_ns", "sql_count", "sql_ns")

    def __init__(self) -> None:
        self.sql_count = self.sql_ns = self.redis_count = self.redis_ns = 0

    def attributes(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        if self.sql_count:
            attributes["servicedesk.sql.folded_statements"] = self.sql_count
            attributes["servicedesk.sql.folded_ms"] = round(self.sql_ns / 1e6, 3)
        if self.redis_count:
            attributes["servicedesk.redis.folded_commands"] = self.redis_count
            attributes["servicedesk.redis.folded_ms"] = round(self.redis_ns / 1e6, 3)
        return attributes


# Set while a recorded request's or job's span is active.
folded_var: ContextVar[Folded | None] = ContextVar("folded_client_calls", default=None)
