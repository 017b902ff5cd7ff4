"""What /metrics reads at each scrape: the messages in each Dramatiq queue, the outbox rows
due and how late the oldest is, the dead ones, and whether the database and Redis answered
the scrape. (Each job's run time and queue wait are recorded by the worker's middleware.)"""

import logging
from collections.abc import Iterator

import redis
from django.db import DatabaseError
from django.utils import timezone
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import dq_name
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from shared_apps.outbox.queries import outbox_backlog
from tasks import actors  # noqa: F401 - declares every actor, so the broker knows every queue
from tasks.broker import broker

logger = logging.getLogger("metrics")


def queue_depths() -> dict[str, int]:
    """Messages in each queue, waiting, delayed or running (Dramatiq's own count for Redis)."""
    queues = sorted(broker.get_declared_queues() - {dq_name(name) for name in broker.get_declared_queues()})
    if isinstance(broker, RedisBroker):
        return {queue: int(broker.do_qsize(queue)) for queue in queues}
    return {  # the StubBroker of the tests: in-memory queues
        queue: sum(broker.queues[name].qsize() for name in (queue, dq_name(queue)) if name in broker.queues)
        for queue in queues
    }


class QueueStateCollector(Collector):
    """Read at each scrape. A dependency that does not answer leaves its figures out and sets
    `dependency_up` to 0 for it, so /metrics still answers (and alerts) during an outage."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "dependency_up", "Whether the dependency answered this scrape (1) or not (0).", labels=["dependency"]
        )
        try:
            depths = queue_depths()
        except (redis.RedisError, OSError):
            logger.warning("Queue depths unavailable: Redis did not answer", exc_info=True)
            up.add_metric(["redis"], 0)
        else:
            up.add_metric(["redis"], 1)
            depth = GaugeMetricFamily(
                "dramatiq_queue_messages",
                "Messages in a Dramatiq queue: waiting, delayed or running.",
                labels=["queue"],
            )
            for queue, count in depths.items():
                depth.add_metric([queue], count)
            yield depth
        now = timezone.now()
        try:
            backlog = outbox_backlog(now=now)
        except DatabaseError:
            logger.warning("Outbox figures unavailable: the database did not answer", exc_info=True)
            up.add_metric(["database"], 0)
        else:
            up.add_metric(["database"], 1)
            lag = (now - backlog.oldest_due_at).total_seconds() if backlog.oldest_due_at else 0.0
            yield GaugeMetricFamily("outbox_due_messages", "Outbox rows due and not yet published.", value=backlog.due)
            yield GaugeMetricFamily(
                "outbox_due_lag_seconds",
                "How long the oldest due, unpublished outbox row has been due (0 when none is).",
                value=max(lag, 0.0),
            )
            yield GaugeMetricFamily(
                "outbox_dead_messages", "Outbox rows parked as dead after failed publishes.", value=backlog.dead
            )
        yield up
