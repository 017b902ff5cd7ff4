"""Redis away: the API keeps answering (caches miss, rate limits count per process), /ready
names it. The database away: 503 with Retry-After, never 500. The same drills against real
servers that are stopped and started again are in tests/test_outage_drills.py."""

import logging

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import override_settings

from tests.conftest import PASSWORD
from tests.isolation import assert_refused


def test_login_works_while_redis_is_down(api_host, tenant_a, redis_down):
    response = api_host.post("/auth/login", {"email": tenant_a.owner.email, "password": PASSWORD})

    assert response.status_code == 200
    assert response.json()["access_token"]


def test_register_works_while_redis_is_down(api_host, redis_down):
    response = api_host.post(
        "/auth/register",
        {"business_name": "Offline Plumbing", "email": "o@offline.test", "password": PASSWORD, "slug": "offline-pl"},
    )

    assert response.status_code == 201


def test_business_routes_work_while_redis_is_down(tenant_a, redis_down):
    created = tenant_a.api().post("/customers", {"name": "Ada"})
    listed = tenant_a.api(as_staff=True).get("/customers")

    assert created.status_code == 201
    assert listed.status_code == 200
    assert [customer["name"] for customer in listed.json()["items"]] == ["Ada"]


def test_removed_member_is_refused_while_redis_is_down(tenant_a, redis_down):
    """Without the membership cache the database decides, so no stale role is trusted."""
    tenant_a.api().delete(f"/users/{tenant_a.staff.pk}")

    response = tenant_a.api(as_staff=True).get("/customers")

    assert response.status_code in (401, 403)


@override_settings(RATE_LIMITS={**settings.RATE_LIMITS, "login": (2, 60)})
def test_rate_limit_counts_per_process_while_redis_is_down(api_host, redis_down):
    attempts = [api_host.post("/auth/login", {"email": "x@y.test", "password": "wrong-pass"}) for _ in range(3)]

    assert [response.status_code for response in attempts] == [401, 401, 429]
    assert 1 <= int(attempts[-1]["Retry-After"]) <= 60


def test_redis_outage_is_logged_once(api_host, tenant_a, redis_down, caplog):
    with caplog.at_level(logging.WARNING, logger="redis"):
        for _ in range(3):
            tenant_a.api().get("/customers")

    assert [record.getMessage() for record in caplog.records if record.name == "redis"] == [
        "Redis unavailable, failing open"
    ]


def test_ready_names_redis_when_it_is_down(api_host, redis_down):
    response = api_host.get("/ready")

    body = assert_refused(response, 503)
    assert body["errors"][0] == {"code": "dependency_unavailable", "database": "ok", "redis": "unavailable"}
    assert response["Retry-After"] == "5"


def database_unreachable(*args, **kwargs):
    raise OperationalError("couldn't get a connection after 1.00 sec")


@pytest.mark.parametrize(
    "failing_call",
    ["api.customers.queries.list_customers", "shared_apps.tenants.queries.get_tenant_for_host"],
    ids=["in the route", "in tenant resolution"],
)
@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_database_away_is_503_with_retry_after(tenant_a, monkeypatch, settings, failing_call, debug):
    settings.DEBUG = debug
    monkeypatch.setattr(failing_call, database_unreachable)

    response = tenant_a.api().get("/customers")

    body = assert_refused(response, 503)
    assert body["errors"] == [{"code": "database_unavailable"}]
    assert response["Retry-After"] == "5"
