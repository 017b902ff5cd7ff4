"""One server span per Django request, in place of OpenTelemetry's Django instrumentation: that
one resolved each URL a second time to name the span, built the absolute URL three times and
gathered every attribute before knowing whether the trace was sampled (docs/benchmarks.md).
Here the span is named from the route Django resolved anyway, as the request ends, and a
request the sampler leaves out costs a span the SDK does not record.

An incoming W3C `traceparent` is continued; OTEL_PYTHON_DJANGO_EXCLUDED_URLS (or
OTEL_PYTHON_EXCLUDED_URLS) names URLs not to trace, as for the instrumentation."""

import os
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.http import ExcludeList, get_excluded_urls

from shared_apps.observability.hook_spans import Folded, folded_var, tracer, with_request_context
from shared_apps.observability.personal import redact

MIDDLEWARE = "shared_apps.observability.server_spans.ServerSpanMiddleware"


class _MetaGetter(Getter[dict]):
    """Propagation headers from a WSGI environ (`traceparent` is `HTTP_TRACEPARENT`)."""

    def get(self, carrier: dict, key: str) -> list[str] | None:
        value = carrier.get("HTTP_" + key.upper().replace("-", "_"))
        return None if value is None else [value]

    def keys(self, carrier: dict) -> list[str]:
        return [key[5:].lower().replace("_", "-") for key in carrier if key.startswith("HTTP_")]


_meta_getter = _MetaGetter()

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


def _excluded_urls() -> ExcludeList | None:
    if os.environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS") or os.environ.get("OTEL_PYTHON_EXCLUDED_URLS"):
        return get_excluded_urls("DJANGO")
    return None


class ServerSpanMiddleware:
    """First in settings.MIDDLEWARE while instrumented, so the span covers every other one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.excluded = _excluded_urls()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.excluded is not None and self.excluded.url_disabled(request.build_absolute_uri("?")):
            return self.get_response(request)
        # Any other method is whatever token the client sent: `_OTHER`, as semantic conventions say.
        method = request.method if request.method in _METHODS else None
        method = method or "_OTHER"
        parent = propagate.extract(request.META, getter=_meta_getter)
        span = tracer.start_span(method, context=parent, kind=SpanKind.SERVER, attributes=with_request_context({}))
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        folded = Folded() if span.is_recording() else None
        folded_token = folded_var.set(folded)
        try:
            response = self.get_response(request)
        except BaseException as error:
            span.set_status(Status(StatusCode.ERROR))
            span.set_attribute("error.type", type(error).__qualname__)
            raise
        else:
            if span.is_recording():
                span.set_attribute("http.status_code", response.status_code)
                if response.status_code >= 500:
                    span.set_status(Status(StatusCode.ERROR))
        finally:
            otel_context.detach(token)
            folded_var.reset(folded_token)
            if folded is not None:
                self._describe(span, request, method, folded)
            span.end()
        return response

    @staticmethod
    def _describe(span: trace.Span, request: HttpRequest, method: str, folded: Folded) -> None:
        attributes = {
            **folded.attributes(),
            "http.method": method,
            "http.scheme": request.scheme or "http",
            # The host alone: the path may hold a secret (a pay page's token), the query personal data.
            "http.host": redact(request.META.get("HTTP_HOST", "")),  # as the client sent it
        }
        match = request.resolver_match
        if match is not None and match.route:
            span.update_name(f"{method} {match.route}")
            attributes["http.route"] = match.route
        span.set_attributes(attributes)  # in one call: the span takes its lock once


class DjangoInstrumentor:
    """Puts the middleware first in settings.MIDDLEWARE, or takes it out; the handler must
    load the middleware after (AppConfig.ready runs first)."""

    def instrument(self) -> None:
        middleware = list(settings.MIDDLEWARE)
        if MIDDLEWARE not in middleware:
            settings.MIDDLEWARE = [MIDDLEWARE, *middleware]

    def uninstrument(self) -> None:
        settings.MIDDLEWARE = [path for path in settings.MIDDLEWARE if path != MIDDLEWARE]
