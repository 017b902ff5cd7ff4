"""The process's Prometheus registry and the metrics recorded outside the HTTP layer.

Under gunicorn (and in the worker and scheduler when they share its PROMETHEUS_MULTIPROC_DIR)
prometheus_client keeps each process's values in files there and /metrics adds them up;
without the variable the values live in this process's registry."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import CollectorRegistry, Counter, Histogram

from shared_apps.observability.tracing import tracer

registry = CollectorRegistry()

# Provider calls take from tens of milliseconds to the gateways' timeouts (10-30 s).
PROVIDER_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
PROVIDER_LATENCY = Histogram(
    "provider_request_duration_seconds",
    "Time a call to a provider (Stripe, Twilio, Vapi) took, by operation.",
    ["provider", "operation"],
    buckets=PROVIDER_BUCKETS,
    registry=registry,
)
PROVIDER_ERRORS = Counter(
    "provider_errors_total",
    "Provider calls that failed: `unavailable` (no answer, timeout, 5xx, throttled) or `refused` (4xx, declined).",
    ["provider", "operation", "failure"],
    registry=registry,
)
# Provider webhooks are stored at once and processed by a job; this is the wait in between.
WEBHOOK_LAG = Histogram(
    "webhook_processing_lag_seconds",
    "Time from storing a provider webhook to processing it.",
    ["provider"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
    registry=registry,
)

JOB_DURATION = Histogram(
    "job_duration_seconds",
    "Time a Dramatiq job took to run, by actor and outcome (done, failed, skipped).",
    ["actor", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=registry,
)
JOB_WAIT = Histogram(
    "job_queue_wait_seconds",
    "Time from a job's message being queued to a worker starting it (first attempts).",
    ["actor"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
    registry=registry,
)


UNAVAILABLE = "unavailable"
REFUSED = "refused"


@contextmanager
def provider_call(*, provider: str, operation: str, failure: Callable[[Exception], str]) -> Iterator[None]:
    """Time one provider call in a client span and the latency histogram; an exception leaving
    the block is counted under `failure(error)` (UNAVAILABLE or REFUSED) and re-raised. The
    span names the provider and operation only, never what was sent."""
    started = time.perf_counter()
    with tracer.start_as_current_span(
        f"{provider} {operation}",
        kind=SpanKind.CLIENT,
        attributes={"servicedesk.provider": provider, "servicedesk.operation": operation},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield
        except Exception as error:
            kind = failure(error)
            span.set_status(Status(StatusCode.ERROR))
            span.set_attributes({"error.type": type(error).__qualname__, "servicedesk.failure": kind})
            PROVIDER_ERRORS.labels(provider, operation, kind).inc()
            raise
        finally:
            PROVIDER_LATENCY.labels(provider, operation).observe(time.perf_counter() - started)
