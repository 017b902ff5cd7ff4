"""Prometheus metrics of the HTTP layer: request counts and latency by route, method and
status, and the database statements and time each request took; /metrics renders them with
the rest of the process's registry (provider calls, webhook lag, jobs) and the state read at
scrape time (queue depth, outbox lag, dead outbox rows).

Under gunicorn every worker process counts its own requests. With PROMETHEUS_MULTIPROC_DIR
set (deploy/gunicorn.conf.py sets it) prometheus_client keeps each process's values in files
there and /metrics adds up all of them; without it (tests, one process) the values live in
this process's registry."""

import glob
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from shared_apps.observability.metrics import registry
from tasks.metrics import QueueStateCollector

REQUESTS = Counter("http_requests_total", "HTTP requests answered.", ["method", "route", "status"], registry=registry)
LATENCY = Histogram(
    "http_request_duration_seconds", "Time to answer an HTTP request.", ["method", "route"], registry=registry
)
DB_STATEMENTS = Histogram(
    "http_request_db_statements",
    "SQL statements one HTTP request ran.",
    ["method", "route"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89),
    registry=registry,
)
DB_SECONDS = Histogram(
    "http_request_db_seconds",
    "Time one HTTP request spent waiting for the database.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=registry,
)
_state = QueueStateCollector()
registry.register(_state)


class DatabaseUse:
    """Counts and times the statements run on the default connection while it is installed."""

    def __init__(self) -> None:
        self.statements = 0
        self.seconds = 0.0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements += 1
            self.seconds += time.perf_counter() - started


@contextmanager
def measuring_database() -> Iterator[DatabaseUse]:
    use = DatabaseUse()
    with connection.execute_wrapper(use):
        yield use


def _route(request: HttpRequest) -> str:
    # The matched URL pattern, not the raw path, so ids do not explode the label set.
    match = getattr(request, "resolver_match", None)
    return match.route if match else "unmatched"


def observe_request(request: HttpRequest, response: HttpResponse, seconds: float, database: DatabaseUse) -> None:
    route = _route(request)
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    LATENCY.labels(request.method, route).observe(seconds)
    DB_STATEMENTS.labels(request.method, route).observe(database.statements)
    DB_SECONDS.labels(request.method, route).observe(database.seconds)


class EveryProcessCollector(MultiProcessCollector):
    """The values of every process that writes under the directory: the server's workers in it,
    the job workers and the scheduler in directories of their own below it (so processes of
    separate containers, whose pids may repeat, never share a file)."""

    def collect(self) -> Iterable[Metric]:
        return self.merge(glob.glob(os.path.join(self._path, "**", "*.db"), recursive=True), accumulate=True)


def render_metrics() -> tuple[bytes, str]:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return generate_latest(registry), CONTENT_TYPE_LATEST
    every_process = CollectorRegistry()
    EveryProcessCollector(every_process, path=directory)
    every_process.register(_state)
    return generate_latest(every_process), CONTENT_TYPE_LATEST
