"""Per-IP rate limits in Redis (fixed window), for login, registration and refresh. While Redis
is unreachable each process counts on its own (the same limit per process), so the routes keep
working and a flood is still slowed down."""

import threading
import time

from django.conf import settings
from django.http import HttpRequest

from shared_apps.errors import RateLimited
from shared_apps.redis_client import fail_open, redis_client

_local_lock = threading.Lock()
_local_counts: dict[str, tuple[int, int]] = {}  # key -> (count, end of its window)


def client_ip(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT proxies in front, the
    entry they appended to X-Forwarded-For (the client cannot forge that one)."""
    if settings.TRUSTED_PROXY_COUNT:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if len(forwarded) >= settings.TRUSTED_PROXY_COUNT:
            return forwarded[-settings.TRUSTED_PROXY_COUNT]
    return request.META.get("REMOTE_ADDR", "unknown")


def _count_in_redis(key: str, window: int) -> int:
    pipeline = redis_client().pipeline()
    pipeline.incr(key)
    pipeline.expire(key, window + 1)
    count, _ = pipeline.execute()
    return count


def _count_locally(key: str, window_end: int) -> int:
    now = time.time()
    with _local_lock:
        for expired in [other for other, (_, ends) in _local_counts.items() if ends <= now]:
            del _local_counts[expired]
        count = _local_counts.get(key, (0, window_end))[0] + 1
        _local_counts[key] = (count, window_end)
        return count


def enforce_rate_limit(request: HttpRequest, scope: str) -> None:
    """Count this request against `scope` for its IP; raise RateLimited past the limit."""
    limit, window = settings.RATE_LIMITS[scope]
    window_start = int(time.time()) // window * window
    key = f"{settings.REDIS_KEY_PREFIX}:ratelimit:{scope}:{client_ip(request)}:{window_start}"
    count = fail_open(
        lambda: _count_in_redis(key, window),
        fallback=lambda: _count_locally(key, window_start + window),
        what="rate limit",
    )
    if count > limit:
        raise RateLimited(retry_after=max(window_start + window - int(time.time()), 1))
