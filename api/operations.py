"""Liveness, readiness and metrics."""

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from ninja import Router

from api.errors import envelope
from api.metrics import render_metrics
from api.ratelimit import redis_client

router = Router(tags=["operations"])


@router.get("/health", auth=None)
def health(request: HttpRequest):
    """The process is up (no dependencies checked)."""
    return {"status": "ok"}


@router.get("/ready", auth=None)
def ready(request: HttpRequest):
    """The database and Redis answer."""
    checks = {"database": "ok", "redis": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        checks["database"] = "unavailable"
    try:
        redis_client().ping()
    except Exception:
        checks["redis"] = "unavailable"
    if "unavailable" in checks.values():
        return envelope(request, 503, "Not ready", [{"code": "dependency_unavailable", **checks}])
    return {"status": "ready", **checks}


@router.get("/metrics", auth=None, include_in_schema=False)
def metrics(request: HttpRequest):
    if not settings.METRICS_PUBLIC and not request.META.get("REMOTE_ADDR", "").startswith("127."):
        return envelope(request, 404)
    body, content_type = render_metrics()
    return HttpResponse(body, content_type=content_type)
