"""Request context (request id, tenant, user) and the active trace carried into every log line."""

import logging

from opentelemetry import trace

from shared_apps.observability.context import request_id_var, tenant_var, user_var


class RequestContextFilter(logging.Filter):
    """Adds request_id, tenant, user, trace_id and span_id to each record for the JSON
    formatter (the ids as OpenTelemetry writes them, hex; "-" with no trace active)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.tenant = tenant_var.get()
        record.user = user_var.get()
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.trace_id = trace.format_trace_id(span_context.trace_id)
            record.span_id = trace.format_span_id(span_context.span_id)
        else:
            record.trace_id = record.span_id = "-"
        return True
