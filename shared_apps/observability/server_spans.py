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

MIDDLEWARE = "shared_apps.observability.server_spans.ServerSpanMiddleware"

tracer = trace.get_tracer("servicedesk")


class _MetaGetter(Getter[dict]):
    """Propagation headers from a WSGI environ (`traceparent` is `HTTP_TRACEPARENT`)."""

    def get(self, carrier: dict, key: str) -> list[str] | None:
        value = carrier.get("HTTP_" + key.upper().replace("-", "_"))
        return None if value is None else [value]

    def keys(self, carrier: dict) -> list[str]:
        return [key[5:].lower().replace("_", "-") for key in carrier if key.startswith("HTTP_")]


_meta_getter = _MetaGetter()


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
        method = request.method or "GET"
        parent = propagate.extract(request.META, getter=_meta_getter)
        span = tracer.start_span(method, context=parent, kind=SpanKind.SERVER)
        token = otel_context.attach(trace.set_span_in_context(span, parent))
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
            if span.is_recording():
                self._describe(span, request, method)
            span.end()
        return response

    @staticmethod
    def _describe(span: trace.Span, request: HttpRequest, method: str) -> None:
        attributes = {
            "http.method": method,
            "http.scheme": request.scheme or "http",
            # The host alone: the path may hold a secret (a pay page's token), the query personal data.
            "http.host": request.META.get("HTTP_HOST", ""),
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
