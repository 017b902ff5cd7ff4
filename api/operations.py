"""Liveness, readiness and metrics."""

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from ninja import Router

from api.errors import RETRY_AFTER_SECONDS, envelope
from api.metrics import render_metrics
from shared_apps.redis_client import redis_client
from shared_apps.tenants import custom_domains

router = Router(tags=["operations"])

# Seconds /ready waits for a pooled database connection (Redis has its socket timeouts).
READY_TIMEOUT = 0.4


@router.get("/health", auth=None)
def health(request: HttpRequest):
    """The process is up (no dependencies checked)."""
    return {"status": "ok"}


def _ping_database() -> None:
    """SELECT 1 on a pooled connection, waiting at most READY_TIMEOUT for one. The pool is
    opened here if no request has opened it yet (Django opens it on first use), so a freshly
    started process is ready as soon as the database answers."""
    pool = connection.pool  # type: ignore[attr-defined]  # Django's PostgreSQL backend has a pool
    if pool is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return
    pool.open(wait=False)  # a no-op once open
    with pool.connection(timeout=READY_TIMEOUT) as conn:
        conn.execute("SELECT 1")


@router.get("/ready", auth=None)
def ready(request: HttpRequest):
    """The database and Redis answer; within about a second even when one of them is away."""
    checks = {"database": "ok", "redis": "ok"}
    try:
        _ping_database()
    except Exception:
        checks["database"] = "unavailable"
    try:
        redis_client().ping()
    except Exception:
        checks["redis"] = "unavailable"
    if "unavailable" in checks.values():
        down = " and ".join(name for name, state in checks.items() if state == "unavailable")
        return envelope(
            request,
            503,
            f"Not ready: {down} unavailable.",
            [{"code": "dependency_unavailable", **checks}],
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return {"status": "ready", **checks}


@router.get("/tls/ask", auth=None, include_in_schema=False)
def tls_ask(request: HttpRequest, domain: str = ""):
    """Caddy's on-demand TLS `ask`: 200 only for a host of an active business (its subdomain or
    a verified domain of its own), 404 for anything else, so no certificate is issued for a
    stranger's name. Loopback only, like /metrics: Caddy asks from the same machine."""
    if not request.META.get("REMOTE_ADDR", "").startswith("127.") or not custom_domains.may_issue_certificate(
        domain=domain[:253]
    ):
        return envelope(request, 404)
    return {"domain": domain}


@router.get("/metrics", auth=None, include_in_schema=False)
def metrics(request: HttpRequest):
    if not settings.METRICS_PUBLIC and not request.META.get("REMOTE_ADDR", "").startswith("127."):
        return envelope(request, 404)
    body, content_type = render_metrics()
    return HttpResponse(body, content_type=content_type)
