"""How many attempts to one endpoint are in flight at once, across every worker: a Redis
sorted set of slot holders per endpoint (tenant schema in the key), scored by when each slot
lapses, so a worker that dies mid-attempt frees its slot after the timeout."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from shared_apps.redis_client import fail_open, redis_client

# A slot outlives the longest attempt (timeout plus the DNS lookup) by this margin.
SLOT_MARGIN_SECONDS = 5


def _key(*, schema_name: str, endpoint_id: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:webhooks:{schema_name}:{endpoint_id}:inflight"


@contextmanager
def endpoint_slot(*, schema_name: str, endpoint_id: int) -> Iterator[bool]:
    """Yields whether one of the endpoint's WEBHOOK_ENDPOINT_CONCURRENCY slots was taken (and
    frees it after). With Redis away it yields True: the broker lives there too, so no other
    attempt runs meanwhile."""
    key = _key(schema_name=schema_name, endpoint_id=endpoint_id)
    holder = uuid.uuid4().hex
    client = redis_client()

    def take() -> bool:
        now = client.time()
        now_seconds = now[0] + now[1] / 1_000_000
        lapses = now_seconds + settings.WEBHOOK_TIMEOUT + settings.WEBHOOK_DNS_TIMEOUT + SLOT_MARGIN_SECONDS
        with client.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now_seconds)
            pipe.zadd(key, {holder: lapses})
            pipe.zrank(key, holder)
            pipe.expire(key, int(lapses - now_seconds) + 1)
            _, _, rank, _ = pipe.execute()
        if rank < settings.WEBHOOK_ENDPOINT_CONCURRENCY:
            return True
        client.zrem(key, holder)
        return False

    taken = fail_open(take, fallback=lambda: True, what="webhooks.endpoint_slot")
    try:
        yield taken
    finally:
        if taken:
            fail_open(lambda: client.zrem(key, holder), fallback=lambda: 0, what="webhooks.endpoint_slot")
