"""Per-IP rate limits in Redis (fixed window), for login, registration and refresh."""

import time
from functools import cache

import redis
from django.conf import settings
from django.http import HttpRequest

from shared_apps.errors import RateLimited


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)


def client_ip(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT proxies in front, the
    entry they appended to X-Forwarded-For (the client cannot forge that one)."""
    if settings.TRUSTED_PROXY_COUNT:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if len(forwarded) >= settings.TRUSTED_PROXY_COUNT:
            return forwarded[-settings.TRUSTED_PROXY_COUNT]
    return request.META.get("REMOTE_ADDR", "unknown")


def enforce_rate_limit(request: HttpRequest, scope: str) -> None:
    """Count this request against `scope` for its IP; raise RateLimited past the limit."""
    limit, window = settings.RATE_LIMITS[scope]
    window_start = int(time.time()) // window * window
    key = f"{settings.REDIS_KEY_PREFIX}:ratelimit:{scope}:{client_ip(request)}:{window_start}"
    pipeline = redis_client().pipeline()
    pipeline.incr(key)
    pipeline.expire(key, window + 1)
    count, _ = pipeline.execute()
    if count > limit:
        raise RateLimited(retry_after=max(window_start + window - int(time.time()), 1))
