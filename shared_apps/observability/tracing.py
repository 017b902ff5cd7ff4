"""OpenTelemetry tracing, configured by the standard OTEL_* environment variables and nothing
else: off unless OTEL_TRACES_EXPORTER (other than `none`) or an OTLP endpoint is set. The SDK
reads the rest itself (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER,
OTEL_BSP_*, OTEL_EXPORTER_OTLP_*, OTEL_PROPAGATORS). Django requests, SQL and Redis are
traced by server_spans and client_spans, httpx by OpenTelemetry's instrumentation; the
provider gateways and the Dramatiq worker make their own spans.

Every span passes through ScrubbingSpanProcessor before any exporter sees it: it adds the
tenant schema and request id, and removes what could be personal data or a secret (URLs'
paths and queries, client addresses, exception messages, status descriptions, anything shaped
like an email address or an E.164 number). The spans of our own request, SQL and Redis hooks
are cleaned where they are made (hook_spans), so for those it only checks events and status."""

import os
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from shared_apps.observability.client_spans import RedisInstrumentor, SqlInstrumentor
from shared_apps.observability.context import request_id_var
from shared_apps.observability.hook_spans import (
    REQUEST_ID_ATTRIBUTE,
    SCOPE,
    TENANT_ATTRIBUTE,
    Folded,
    folded_var,
    with_request_context,
)
from shared_apps.observability.personal import may_hold_personal, redact
from shared_apps.observability.server_spans import DjangoInstrumentor

# The request id travels with the W3C headers in a job's trace context, under this key.
REQUEST_ID_KEY = "x-request-id"

# A proxy: spans go to whichever provider is installed, or nowhere while none is.
tracer = trace.get_tracer("servicedesk")

# Full URLs keep only scheme and host: a path may hold a secret (a pay page's token, the
# secret in a webhook target's path) and a query personal data. `http.route` names the route.
_URL_ATTRIBUTES = frozenset({"http.url", "url.full"})
_DROPPED_ATTRIBUTES = frozenset(
    {
        "http.target",
        "url.path",
        "url.query",
        "client.address",
        "http.client_ip",
        "net.peer.ip",
        "net.sock.peer.addr",
        "enduser.id",
    }
)
_TOUCHED_ATTRIBUTES = _URL_ATTRIBUTES | _DROPPED_ATTRIBUTES
_KEPT_EXCEPTION_ATTRIBUTES = frozenset({"exception.type", "exception.escaped"})


def tracing_requested() -> bool:
    """Whether the environment asks for traces (the SDK's own switch, OTEL_SDK_DISABLED, wins)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters:
        return exporters != "none"
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def exporters_from_environment() -> list[SpanExporter]:
    """The exporters OTEL_TRACES_EXPORTER names (default `otlp`), found through the SDK's entry
    points as its auto-configuration does. OTLP is over HTTP (protobuf), the SDK's default
    protocol; each exporter reads its own OTEL_EXPORTER_OTLP_* variables."""
    names = [name.strip() for name in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")]
    protocol = (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or ""
    )
    exporters = []
    for name in names:
        if name in ("", "none"):
            continue
        if name == "otlp":
            name = "otlp_proto_grpc" if protocol == "grpc" else "otlp_proto_http"
        found = list(entry_points(group="opentelemetry_traces_exporter", name=name))
        if not found:
            raise ImproperlyConfigured(
                f"OTEL_TRACES_EXPORTER asks for {name!r}, which no installed package provides "
                "(installed: otlp over http/protobuf, console)."
            )
        exporters.append(found[0].load()())
    return exporters


def configure_from_environment() -> bool:
    """Install tracing when the environment asks for it; returns whether it did."""
    if not tracing_requested() or is_installed():
        return False
    install_tracing([BatchSpanProcessor(exporter) for exporter in exporters_from_environment()])
    return True


def is_installed() -> bool:
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def install_tracing(processors: Sequence[SpanProcessor]) -> None:
    """Make the process's tracer provider with these processors (each behind the scrubber)
    and instrument the libraries. Once per process: OpenTelemetry's provider cannot be
    replaced."""
    named = "service.name" in OTELResourceDetector().detect().attributes
    provider = TracerProvider(resource=Resource.create({} if named else {"service.name": "servicedesk"}))
    for processor in processors:
        provider.add_span_processor(ScrubbingSpanProcessor(processor))
    trace.set_tracer_provider(provider)
    instrument_libraries()


def _instrumentors() -> dict[str, tuple[Any, dict[str, Any]]]:
    # Imported here: it takes seconds to import, which every process would pay with tracing off.
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    return {
        # Ours but httpx's, under the names OpenTelemetry's own instrumentations have in
        # OTEL_PYTHON_DISABLED_INSTRUMENTATIONS (server_spans and client_spans say why).
        "django": (DjangoInstrumentor(), {}),
        "psycopg": (SqlInstrumentor(), {}),
        "redis": (RedisInstrumentor(), {}),
        "httpx": (HTTPXClientInstrumentor(), {}),
    }


def instrument_libraries() -> None:
    """Instrument each library but those OTEL_PYTHON_DISABLED_INSTRUMENTATIONS names (the
    variable OpenTelemetry's Python auto-instrumentation reads, e.g. `redis,psycopg`)."""
    disabled = {name.strip() for name in os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")}
    for name, (instrumentor, options) in _instrumentors().items():
        if name not in disabled:
            instrumentor.instrument(**options)


def uninstrument_libraries() -> None:
    for instrumentor, _options in _instrumentors().values():
        instrumentor.uninstrument()


def annotate_current_span(*, tenant: str, request_id: str) -> None:
    """Name the request and its tenant ("-": none) on the active span (a request's own span
    starts before either is known, so the middleware adds them when it answers)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)
        if tenant != "-":
            span.set_attribute(TENANT_ATTRIBUTE, tenant)


def current_trace_context() -> dict[str, str]:
    """The active trace as W3C headers (traceparent, tracestate) plus the request id, to store
    with work done later: the job that runs it continues the same trace. Empty when neither
    a trace nor a request is active."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    request_id = request_id_var.get()
    if request_id != "-":
        carrier[REQUEST_ID_KEY] = request_id
    return carrier


class JobSpan:
    """A Dramatiq job's span, a child of the trace its message carries; active while the
    actor runs (the worker's middleware opens it before and closes it after)."""

    def __init__(self, *, actor_name: str, queue_name: str, trace_context: Mapping[str, str]):
        parent = propagate.extract(dict(trace_context))
        self.span = tracer.start_span(
            f"job {actor_name}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "dramatiq",
                "messaging.destination.name": queue_name,
                "servicedesk.job": actor_name,
            },
        )
        self._token = otel_context.attach(trace.set_span_in_context(self.span, parent))
        self.folded = Folded() if self.span.is_recording() else None
        self._folded_token = folded_var.set(self.folded)

    def end(self, *, error: BaseException | None) -> None:
        if error is not None:
            self.span.set_status(Status(StatusCode.ERROR))
            self.span.set_attribute("error.type", type(error).__qualname__)
        folded_var.reset(self._folded_token)
        if self.folded is not None:
            self.span.set_attributes(self.folded.attributes())
        otel_context.detach(self._token)
        self.span.end()


def _clean_value(key: str, value: Any) -> Any:
    if key in _URL_ATTRIBUTES and isinstance(value, str):
        parts = urlsplit(value)
        value = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], "", "", ""))
    return redact(value)


def clean_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        key: _clean_value(key, value) for key, value in (attributes or {}).items() if key not in _DROPPED_ATTRIBUTES
    }


def _clean_event(event: Event) -> Event:
    attributes = clean_attributes(event.attributes)
    if event.name == "exception":
        # The message and the stack trace's last line may quote a phone number or an address.
        attributes = {key: value for key, value in attributes.items() if key in _KEPT_EXCEPTION_ATTRIBUTES}
    return Event(event.name, attributes, event.timestamp)


def needs_scrubbing(span: ReadableSpan) -> bool:
    """Whether `scrubbed` would change the span; most (SQL, Redis) pass as they are, uncopied.
    It runs on every span, on the request's thread: the keys are read once, each value once."""
    if span.events or span.status.description:
        return True
    attributes = span.attributes or {}
    if not _TOUCHED_ATTRIBUTES.isdisjoint(attributes):
        return True
    for value in attributes.values():
        if isinstance(value, str):
            if may_hold_personal(value):
                return True
        elif isinstance(value, (tuple, list)):
            return True
    return False


def scrubbed(span: ReadableSpan) -> ReadableSpan:
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=clean_attributes(span.attributes),
        events=[_clean_event(event) for event in span.events],
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _from_hooks(span: ReadableSpan) -> bool:
    scope = span.instrumentation_scope
    return scope is not None and scope.name == SCOPE


class ScrubbingSpanProcessor(SpanProcessor):
    """Adds the tenant and request id to each span as it starts (our hooks' spans have them
    already), and hands the processor it wraps (and so the exporter) only a scrubbed copy of
    each span that ends."""

    def __init__(self, inner: SpanProcessor):
        self.inner = inner

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        if not _from_hooks(span) and (known := with_request_context({})):
            span.set_attributes(known)  # in one call: the span takes its lock once
        self.inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        # Our hooks' attributes are clean at the source; an exception leaving the span's block
        # still adds an event and a status description with its message.
        dirty = bool(span.events or span.status.description) if _from_hooks(span) else needs_scrubbing(span)
        self.inner.on_end(scrubbed(span) if dirty else span)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
