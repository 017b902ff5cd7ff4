"""The Dramatiq broker, with the middleware that runs each message in its tenant's schema.
Importing this module configures Dramatiq; actors import `dramatiq` after it."""

import threading
import time
from typing import Any

import dramatiq
import redis
from django.conf import settings
from django.db import close_old_connections, connection
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware, Prometheus, SkipMessage, default_middleware

from shared_apps.observability.context import request_id_var, tenant_var
from shared_apps.observability.metrics import JOB_DURATION, JOB_WAIT
from shared_apps.observability.tracing import REQUEST_ID_KEY, JobSpan
from shared_apps.outbox import services as outbox

# Message option naming the tenant schema a job runs in ("" for the public schema).
SCHEMA_OPTION = "tenant_schema"
# Message option naming the outbox row a job was published from.
OUTBOX_OPTION = "outbox_id"
# Message option carrying the trace (W3C headers) and request id of whatever queued the job.
TRACE_OPTION = "trace_context"
# The queue of the webhook slow lane (attempts to failing or slow endpoints), served by worker
# processes of its own so it has its own threads. The main worker names every other queue in its
# `--queues` (devtools/supervisord.conf, deploy/Procfile, deploy/compose.yaml): a new queue goes
# there too.
SLOW_LANE_QUEUE = "webhooks-slow"


class TenantSchemaMiddleware(Middleware):
    """Activates the schema named in the message before the actor runs and resets it after,
    also on error, so one job never sees another tenant's rows. A job from the outbox is
    marked started on its first attempt; a second copy of it (re-published because the broker
    seemed to have lost it) is skipped. Connections broken by a database restart are dropped
    before and after each message, so the worker recovers by itself."""

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        close_old_connections()
        connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' database backend
        outbox_id = message.options.get(OUTBOX_OPTION)
        first_attempt = not message.options.get("retries")
        if outbox_id is not None and first_attempt and not outbox.claim_outbox_message(message_id=outbox_id):
            raise SkipMessage(f"outbox message {outbox_id} was already started")
        schema_name = message.options.get(SCHEMA_OPTION) or ""
        if schema_name:
            connection.set_schema(schema_name)  # type: ignore[attr-defined]  # django-tenants' database backend
        else:
            connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' database backend

    def after_process_message(
        self, broker: dramatiq.Broker, message: dramatiq.Message, *, result: Any = None, exception: Any = None
    ) -> None:
        connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' database backend
        close_old_connections()

    after_skip_message = after_process_message


class JobObservabilityMiddleware(Middleware):
    """Each job runs in a span continuing the trace its message carries, with its tenant and
    the request id that caused it in log lines and spans; its run time and its wait in the
    queue go to the job metrics. Added before TenantSchemaMiddleware, so a job it skips is
    still closed; one skipped by an earlier middleware (age limit) has no span to close."""

    def __init__(self) -> None:
        self._running = threading.local()

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        trace_context = message.options.get(TRACE_OPTION) or {}
        tokens = (
            tenant_var.set(message.options.get(SCHEMA_OPTION) or "public"),
            request_id_var.set(trace_context.get(REQUEST_ID_KEY, "-")),
        )
        span = JobSpan(actor_name=message.actor_name, queue_name=message.queue_name, trace_context=trace_context)
        self._running.job = (span, tokens, time.perf_counter())
        if not message.options.get("retries"):
            JOB_WAIT.labels(message.actor_name).observe(max(time.time() - message.message_timestamp / 1000, 0.0))

    def _finish(self, message: dramatiq.Message, outcome: str, exception: BaseException | None) -> None:
        running = getattr(self._running, "job", None)
        if running is None:
            return
        self._running.job = None
        span, (tenant_token, request_token), started = running
        span.end(error=exception)
        JOB_DURATION.labels(message.actor_name, outcome).observe(time.perf_counter() - started)
        request_id_var.reset(request_token)
        tenant_var.reset(tenant_token)

    def after_process_message(
        self, broker: dramatiq.Broker, message: dramatiq.Message, *, result: Any = None, exception: Any = None
    ) -> None:
        self._finish(message, "failed" if exception is not None else "done", exception)

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        self._finish(message, "skipped", None)


def build_broker() -> dramatiq.Broker:
    # Dramatiq's defaults minus its Prometheus exporter, which would open its own HTTP port in
    # every worker; the API's /metrics is where metrics live.
    middleware = [cls() for cls in default_middleware if cls is not Prometheus]
    broker: dramatiq.Broker
    if settings.DRAMATIQ_STUB_BROKER:
        broker = StubBroker(middleware=middleware)
    else:
        # Timeouts so a send to an unreachable Redis fails (and the outbox keeps the message)
        # instead of hanging the scheduler; generous reads for the broker's Lua scripts.
        client = redis.Redis.from_url(settings.DRAMATIQ_BROKER_URL, socket_connect_timeout=2, socket_timeout=10)
        broker = RedisBroker(client=client, namespace=f"{settings.REDIS_KEY_PREFIX}:dramatiq", middleware=middleware)
    broker.add_middleware(JobObservabilityMiddleware())
    broker.add_middleware(TenantSchemaMiddleware())
    return broker


broker = build_broker()
dramatiq.set_broker(broker)


def queue_depth() -> dict[str, int]:
    """Messages waiting in each declared queue (not those a worker holds), for the dashboard."""
    if isinstance(broker, RedisBroker):
        return {queue: int(broker.client.llen(f"{broker.namespace}:{queue}")) for queue in sorted(broker.queues)}
    assert isinstance(broker, StubBroker)
    return {queue: broker.queues[queue].qsize() for queue in sorted(broker.queues)}
