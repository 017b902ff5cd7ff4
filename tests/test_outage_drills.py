"""Outage drills against real servers: our own PostgreSQL and redis-server are stopped and
started again while the API runs under gunicorn (tests/outage_stack.py).

- Redis away: login, registration and business routes keep working; /ready names Redis.
- PostgreSQL away: a tenant request answers 503 with Retry-After within a couple of seconds,
  /ready names the database within a second, and once the database is back the same request
  answers 200 without restarting the API."""

import time
import uuid
from collections.abc import Iterator

import pytest

from tests.outage_stack import OutageStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[OutageStack]:
    stack = OutageStack(tmp_path_factory.mktemp("outage"))
    try:
        stack.start_postgres()
        stack.start_redis()
        stack.migrate()
        stack.start_api()
        yield stack
    finally:
        stack.close()


@pytest.fixture(scope="module")
def business(stack) -> tuple[str, str]:
    """(host, owner's access token) of a business registered while everything is up."""
    host, answer = stack.register(f"drill-{uuid.uuid4().hex[:8]}")
    assert answer.status == 201, answer
    return host, answer.body["access_token"]


@pytest.fixture
def redis_stopped(stack) -> Iterator[None]:
    stack.stop_redis()
    try:
        yield
    finally:
        stack.start_redis()


@pytest.fixture
def postgres_stopped(stack) -> Iterator[None]:
    stack.stop_postgres()
    try:
        yield
    finally:
        stack.start_postgres()


def test_redis_down_login_register_and_business_routes_keep_working(stack, business, redis_stopped):
    host, token = business
    slug = host.split(".")[0]

    login = stack.login(slug)
    _, registered = stack.register(f"offline-{uuid.uuid4().hex[:8]}")
    created = stack.request("POST", "/customers", {"name": "Ada"}, host=host, token=token)
    listed = stack.request("GET", "/customers", host=host, token=token)

    assert (login.status, registered.status, created.status, listed.status) == (200, 201, 201, 200), stack.api_log()


def test_redis_down_ready_names_redis_within_a_second(stack, redis_stopped):
    ready = stack.request("GET", "/ready")

    assert ready.status == 503
    assert ready.body["errors"][0]["redis"] == "unavailable"
    assert ready.body["errors"][0]["database"] == "ok"
    assert ready.seconds < 1


def test_postgres_down_fails_fast_with_503_and_recovers_without_restart(stack, business):
    host, token = business
    api_pid = stack.api.pid
    assert stack.request("GET", "/customers", host=host, token=token).status == 200

    stack.stop_postgres()
    try:
        down = stack.request("GET", "/customers", host=host, token=token)
        ready = stack.request("GET", "/ready")
    finally:
        stack.start_postgres()
    back = stack.request("GET", "/customers", host=host, token=token)
    deadline = time.monotonic() + 15
    while back.status != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
        back = stack.request("GET", "/customers", host=host, token=token)

    assert down.status == 503, down
    assert down.retry_after == "5"
    assert down.body["errors"] == [{"code": "database_unavailable"}]
    assert down.seconds < 3
    assert ready.status == 503
    assert ready.body["errors"][0]["database"] == "unavailable"
    assert ready.seconds < 1
    assert back.status == 200, stack.api_log()
    assert stack.api.pid == api_pid and stack.api.poll() is None
