"""Rate limits in Redis (sliding window), per IP for login, registration and refresh, per IP
and per customer for what customers do from their link: at most
`limit` requests are let through in any `window` seconds, whatever the clock's minute says (a
fixed window let twice the limit through across its boundary). While Redis is unreachable
each process keeps the same sliding window on its own (the same limit per process), so the
routes keep working and a flood is still slowed down."""

import math
import threading
import time
import uuid
from collections import deque
from typing import cast

from django.conf import settings
from django.http import HttpRequest

from shared_apps.errors import RateLimited
from shared_apps.redis_client import fail_open, redis_client

# One sorted set per key: a member per request let through, scored by its time in ms (Redis's
# own clock, the same for every process). Atomic: trims what left the window, then lets the
# request through (recording it) if fewer than the limit remain, else answers how many ms
# until the oldest leaves. Refused requests are not recorded, so they never extend a wait.
_SLIDING_WINDOW = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    redis.call('PEXPIRE', KEYS[1], window)
    return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(tonumber(oldest[2]) + window - now, 1)
"""

_local_lock = threading.Lock()
_local_windows: dict[str, deque[float]] = {}  # key -> times (s) of the requests let through


def client_ip(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT proxies in front, the
    entry they appended to X-Forwarded-For (the client cannot forge that one)."""
    if settings.TRUSTED_PROXY_COUNT:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if len(forwarded) >= settings.TRUSTED_PROXY_COUNT:
            return forwarded[-settings.TRUSTED_PROXY_COUNT]
    return request.META.get("REMOTE_ADDR", "unknown")


def _wait_in_redis(key: str, limit: int, window: int) -> float:
    """Seconds until this request may pass (0: it passes now and is counted)."""
    waited_ms = redis_client().eval(_SLIDING_WINDOW, 1, key, str(window * 1000), str(limit), uuid.uuid4().hex)
    return int(cast(int, waited_ms)) / 1000


def _wait_locally(key: str, limit: int, window: int) -> float:
    now = time.monotonic()
    with _local_lock:
        for other in [other for other, times in _local_windows.items() if not times or times[-1] <= now - window]:
            del _local_windows[other]
        times = _local_windows.setdefault(key, deque())
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) < limit:
            times.append(now)
            return 0.0
        return times[0] + window - now


def enforce_rate_limit(request: HttpRequest, scope: str, *, subject: str | None = None) -> None:
    """Count this request against `scope` for `subject` (a tenant's customer, its IP within
    a tenant: whatever the caller counts by; default: the request's IP); raise RateLimited
    past the limit."""
    limit, window = settings.RATE_LIMITS[scope]
    key = f"{settings.REDIS_KEY_PREFIX}:ratelimit:{scope}:{subject or client_ip(request)}"
    wait = fail_open(
        lambda: _wait_in_redis(key, limit, window),
        fallback=lambda: _wait_locally(key, limit, window),
        what="rate limit",
    )
    if wait > 0:
        raise RateLimited(retry_after=max(math.ceil(wait), 1))
