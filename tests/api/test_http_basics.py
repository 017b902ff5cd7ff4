"""The error envelope on every status, request ids, security headers, CORS, rate limits,
health, readiness and metrics."""

import json
import time

from django.conf import settings
from django.test import override_settings

from api import errors
from tests.isolation import assert_refused


def test_unknown_path_is_404_envelope(api_host):
    body = assert_refused(api_host.get("/no/such/route"), 404)

    assert body["path"] == "/api/v1/no/such/route"


def test_unknown_subdomain_is_404_envelope(api_host):
    assert_refused(api_host.on_host(f"nobody.{settings.BASE_DOMAIN}").get("/health"), 404)


def test_wrong_method_is_405_envelope(api_host):
    assert_refused(api_host.delete("/auth/login"), 405)


def test_validation_error_is_400_envelope_with_fields(api_host):
    body = assert_refused(api_host.post("/auth/login", {"email": "a@b.test"}), 400)

    assert body["message"] == "Validation failed"
    assert body["errors"][0]["field"] == "password"


def test_malformed_json_is_400(api_host):
    assert_refused(api_host.post("/auth/login", "{not json"), 400)


def test_unexpected_error_is_500_without_stack_trace(api_host, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("shared_apps.accounts.services.login", explode)

    response = api_host.post("/auth/login", {"email": "a@b.test", "password": "x"})

    body = assert_refused(response, 500)
    assert "secret internals" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert body["message"] == errors.DEFAULT_MESSAGES[500]


def test_request_id_is_echoed_in_header_and_envelope(api_host):
    response = api_host.request("GET", "/nothing-here", headers={"X-Request-ID": "req-12345678"})

    assert response["X-Request-ID"] == "req-12345678"
    assert response.json()["requestId"] == "req-12345678"


def test_unsafe_request_id_is_replaced(api_host):
    response = api_host.request("GET", "/health", headers={"X-Request-ID": "bad id\nwith newline"})

    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert len(response["X-Request-ID"]) == 32


def test_security_headers(api_host):
    response = api_host.get("/health")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"], CORS_ALLOWED_ORIGIN_REGEXES=[])
def test_cors_allows_only_configured_origins(api_host):
    allowed = api_host.request("GET", "/health", headers={"Origin": "https://app.example.com"})
    refused = api_host.request("GET", "/health", headers={"Origin": "https://evil.example.com"})

    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Access-Control-Allow-Origin" not in refused


@override_settings(RATE_LIMITS={**settings.RATE_LIMITS, "login": (3, 60)})
def test_login_rate_limit_is_429_with_retry_after(api_host):
    attempts = [api_host.post("/auth/login", {"email": "x@y.test", "password": "wrong-pass"}) for _ in range(4)]

    assert [response.status_code for response in attempts] == [401, 401, 401, 429]
    assert 1 <= int(attempts[-1]["Retry-After"]) <= 60
    assert_refused(attempts[-1], 429)


@override_settings(RATE_LIMITS={**settings.RATE_LIMITS, "register": (1, 60)})
def test_register_rate_limit_is_per_ip(api_host):
    first = api_host.post("/auth/register", {"business_name": "A", "email": "bad", "password": "x"})
    second_same_ip = api_host.post("/auth/register", {"business_name": "A", "email": "bad", "password": "x"})
    other_ip = api_host.from_address("10.1.2.3").post(
        "/auth/register", {"business_name": "A", "email": "bad", "password": "x"}
    )

    assert first.status_code == 400
    assert second_same_ip.status_code == 429
    assert other_ip.status_code == 400


def test_health_and_ready(api_host):
    assert api_host.get("/health").json() == {"status": "ok"}
    ready = api_host.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "redis": "ok"}


def test_ready_is_503_when_redis_is_down(api_host, monkeypatch):
    class DeadRedis:
        def ping(self):
            raise ConnectionError("down")

    monkeypatch.setattr("api.operations.redis_client", lambda: DeadRedis())

    body = assert_refused(api_host.get("/ready"), 503)
    assert body["errors"][0]["redis"] == "unavailable"


def test_metrics_in_prometheus_format(api_host):
    api_host.get("/health")

    response = api_host.get("/metrics")

    assert response.status_code == 200
    assert b"http_requests_total" in response.content


def test_openapi_lists_routes(api_host):
    schema = json.loads(api_host.get("/openapi.json").content)

    assert "/api/v1/auth/register" in schema["paths"]
    assert "/api/v1/tenants/me" in schema["paths"]


def seconds_past_window_start(window: int) -> float:
    return time.time() % window


@override_settings(RATE_LIMITS={**settings.RATE_LIMITS, "refresh": (3, 6)})
def test_rate_limit_lets_no_more_than_the_limit_through_across_a_window_boundary(api_host):
    # A fixed window of 6 s let 3 attempts through just before its boundary and 3 more just
    # after. Refreshing with an unknown token is the cheapest limited call (a sign-in hashes a
    # password), so all six fall in the window on a loaded machine too.
    while seconds_past_window_start(6) < 4.5:
        time.sleep(0.05)
    refresh = lambda: api_host.post("/auth/refresh", {"refresh_token": "not-a-token"})  # noqa: E731
    before = [refresh().status_code for _ in range(3)]
    while seconds_past_window_start(6) > 3.0:
        time.sleep(0.02)
    after = [refresh().status_code for _ in range(3)]

    assert before + after == [401, 401, 401, 429, 429, 429]
