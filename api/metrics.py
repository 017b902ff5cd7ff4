"""Prometheus metrics: request counts and latency by route, method and status."""

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

registry = CollectorRegistry()
REQUESTS = Counter("http_requests_total", "HTTP requests answered.", ["method", "route", "status"], registry=registry)
LATENCY = Histogram(
    "http_request_duration_seconds", "Time to answer an HTTP request.", ["method", "route"], registry=registry
)


def _route(request: HttpRequest) -> str:
    # The matched URL pattern, not the raw path, so ids do not explode the label set.
    match = getattr(request, "resolver_match", None)
    return match.route if match else "unmatched"


def observe_request(request: HttpRequest, response: HttpResponse, seconds: float) -> None:
    route = _route(request)
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    LATENCY.labels(request.method, route).observe(seconds)


def render_metrics() -> tuple[bytes, str]:
    return generate_latest(registry), CONTENT_TYPE_LATEST
