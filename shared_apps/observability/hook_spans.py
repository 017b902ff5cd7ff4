"""The tracer of the spans this project's own hooks make on every request: the request's span
(server_spans), SQL statements and Redis commands (client_spans). Those hooks choose each
attribute and clean it where they set it (a statement's literals, the Host header), and give
the tenant and request id as the span starts. So the scrubbing processor (tracing.py) only
checks these spans' exception events and status; its full check of every attribute is for
the other spans (httpx's, the provider calls', the jobs'), which are a few per trace."""

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
