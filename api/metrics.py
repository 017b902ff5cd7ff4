"""Prometheus metrics: request counts and latency by route, method and status.

Under gunicorn every worker process counts its own requests. With PROMETHEUS_MULTIPROC_DIR
set (deploy/gunicorn.conf.py sets it) prometheus_client keeps each process's values in files
there and /metrics adds up all of them; without it (tests, one process) the values live in
this process's registry."""

import os

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

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
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return generate_latest(registry), CONTENT_TYPE_LATEST
    every_process = CollectorRegistry()
    MultiProcessCollector(every_process, path=directory)
    return generate_latest(every_process), CONTENT_TYPE_LATEST
