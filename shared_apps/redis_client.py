"""The web process's Redis connections, and how they fail open.

Redis holds only what can be rebuilt or has a database fallback (rate-limit windows, caches,
revoked sessions: shared_apps/accounts/revocation.py); jobs reach it through the outbox. So
when Redis is unreachable the API keeps answering: `fail_open` gives the caller's
fallback (the database, a per-process limit) instead of an error, and the outage is logged
once when it starts and once when it ends. After a failure Redis is left alone for
REDIS_RETRY_SECONDS, so an unreachable server does not cost every call a socket timeout.
"""

import logging
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger("redis")

T = TypeVar("T")

# What an unreachable, dead or stalled server raises (redis-py wraps socket errors).
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)
REDIS_RETRY_SECONDS = 1.0


@cache
def redis_client() -> redis.Redis:
    """The process's client for REDIS_URL, with short socket timeouts."""
    return redis.Redis.from_url(settings.REDIS_URL, **settings.REDIS_CLIENT_OPTIONS)


class _Outage:
    """Whether Redis is known to be down, shared by every caller in the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.retry_at = 0.0

    def should_skip(self) -> bool:
        return self.down_since is not None and time.monotonic() < self.retry_at

    def failed(self, what: str, error: Exception) -> None:
        with self._lock:
            now = time.monotonic()
            started = self.down_since is None
            if started:
                self.down_since = now
            self.retry_at = now + REDIS_RETRY_SECONDS
        if started:
            logger.warning("Redis unavailable, failing open", extra={"operation": what, "error": repr(error)})

    def succeeded(self) -> None:
        if self.down_since is None:
            return
        with self._lock:
            down_since, self.down_since = self.down_since, None
        if down_since is not None:
            logger.warning("Redis reachable again", extra={"down_seconds": round(time.monotonic() - down_since, 1)})


outage = _Outage()


def fail_open(operation: Callable[[], T], *, fallback: Callable[[], T], what: str) -> T:
    """`operation()`, or `fallback()` when Redis is unreachable (logged once per outage)."""
    if outage.should_skip():
        return fallback()
    try:
        result = operation()
    except REDIS_ERRORS as error:
        outage.failed(what, error)
        return fallback()
    outage.succeeded()
    return result


class FailOpenRedisCache(RedisCache):
    """Django's Redis cache that acts as an empty cache while Redis is unreachable: reads miss
    and writes are dropped, so callers compute the value from the database."""

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        read = super().get
        return fail_open(lambda: read(key, default, version), fallback=lambda: default, what="cache.get")

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        read = super().get_many
        return fail_open(lambda: read(keys, version), fallback=dict, what="cache.get_many")

    def has_key(self, key: Any, version: int | None = None) -> bool:
        read = super().has_key
        return fail_open(lambda: read(key, version), fallback=lambda: False, what="cache.has_key")

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        write = super().set
        fail_open(lambda: write(key, value, timeout, version), fallback=lambda: None, what="cache.set")

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        write = super().add
        return fail_open(lambda: write(key, value, timeout, version), fallback=lambda: False, what="cache.add")

    def delete(self, key: Any, version: int | None = None) -> bool:
        write = super().delete
        return fail_open(lambda: write(key, version), fallback=lambda: False, what="cache.delete")
