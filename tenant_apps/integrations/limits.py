"""How many attempts to one endpoint are in flight at once, across every worker: a Redis
sorted set of slot holders per endpoint (tenant schema in the key), scored by when each slot
lapses, so a worker that dies mid-attempt frees its slot after the timeout."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

from django.conf import settings

from shared_apps.redis_client import fail_open, redis_client

# A slot outlives the longest attempt (timeout plus the DNS lookup) by this margin.
SLOT_MARGIN_SECONDS = 5


def _key(*, schema_name: str, endpoint_id: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:webhooks:{schema_name}:{endpoint_id}:inflight"


@dataclass(frozen=True)
class Slot:
    """Whether a slot was taken, and how long the oldest attempt in flight (this one aside) has
    been running: a long one means the endpoint is slow (it belongs in the slow lane, and
    waiting briefly would only ask again)."""

    taken: bool
    oldest_in_flight: float = 0.0


@contextmanager
def endpoint_slot(*, schema_name: str, endpoint_id: int, limit: int) -> Iterator[Slot]:
    """Takes one of the endpoint's `limit` slots if one is free (and frees it after). With Redis
    away a slot is always taken: the broker lives there too, so no other attempt runs
    meanwhile."""
    key = _key(schema_name=schema_name, endpoint_id=endpoint_id)
    holder = uuid.uuid4().hex
    client = redis_client()
    lifetime = settings.WEBHOOK_TIMEOUT + settings.WEBHOOK_DNS_TIMEOUT + SLOT_MARGIN_SECONDS

    def take() -> Slot:
        # Redis's clock, not the worker's: every worker compares against the same one.
        seconds, micros = cast(tuple[int, int], client.time())
        now_seconds = seconds + micros / 1_000_000
        with client.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now_seconds)
            pipe.zadd(key, {holder: now_seconds + lifetime})
            pipe.zrank(key, holder)
            pipe.expire(key, int(lifetime) + 1)
            pipe.zrange(key, 0, 0, withscores=True)
            _, _, rank, _, oldest = pipe.execute()
        # The oldest holder is this attempt only when no other is in flight (age 0).
        oldest_in_flight = max(0.0, now_seconds - (oldest[0][1] - lifetime))
        if rank < limit:
            return Slot(taken=True, oldest_in_flight=oldest_in_flight)
        client.zrem(key, holder)
        return Slot(taken=False, oldest_in_flight=oldest_in_flight)

    slot = fail_open(take, fallback=lambda: Slot(taken=True), what="webhooks.endpoint_slot")
    try:
        yield slot
    finally:
        if slot.taken:
            fail_open(lambda: client.zrem(key, holder), fallback=lambda: 0, what="webhooks.endpoint_slot")
