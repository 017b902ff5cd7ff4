"""Idempotency-Key: replays on the creating POSTs of business data only, never on /auth
routes, never a stored secret, records expire after 24 h, and a key whose request crashed or
was abandoned is free again."""

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.http import JsonResponse
from django.test import RequestFactory
from django.utils import timezone
from dramatiq import Worker

from api import customers as customers_api
from api.idempotency import with_idempotency_key
from shared_apps.accounts.tokens import AccessClaims
from shared_apps.idempotency import services
from shared_apps.idempotency.models import IdempotencyRecord
from tasks import actors
from tasks.broker import broker
from tenant_apps.customers.models import Customer
from tests.concurrency import JOIN_TIMEOUT
from tests.conftest import PASSWORD
from tests.isolation import assert_refused


def post_with_key(client, path, body, key):
    return client.request("POST", path, body, headers={"Idempotency-Key": key})


def scope_of(test_tenant) -> str:
    return f"{test_tenant.tenant.schema_name}:user:{test_tenant.owner.pk}"


def test_same_key_and_body_replays_the_first_answer_and_creates_once(tenant_a):
    api = tenant_a.api()

    first = post_with_key(api, "/customers", {"name": "Idem Potent"}, "key-1")
    second = post_with_key(api, "/customers", {"name": "Idem Potent"}, "key-1")

    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    with tenant_a.schema():
        assert Customer.objects.filter(name="Idem Potent").count() == 1


def test_same_key_with_another_body_is_422(tenant_a):
    api = tenant_a.api()
    post_with_key(api, "/customers", {"name": "One"}, "k2")

    body = assert_refused(post_with_key(api, "/customers", {"name": "Two"}, "k2"), 422)

    assert body["errors"] == [{"code": "idempotency_key_reused"}]


def test_keys_are_scoped_per_tenant(tenant_a, tenant_b):
    in_a = post_with_key(tenant_a.api(), "/customers", {"name": "Shared"}, "same")
    in_b = post_with_key(tenant_b.api(), "/customers", {"name": "Shared"}, "same")

    assert (in_a.status_code, in_b.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in in_b
    with tenant_b.schema():
        assert Customer.objects.filter(name="Shared").count() == 1


def test_overlong_key_is_400(tenant_a):
    body = assert_refused(post_with_key(tenant_a.api(), "/customers", {"name": "X"}, "k" * 256), 400)

    assert body["errors"] == [{"code": "invalid_idempotency_key"}]


def test_auth_routes_ignore_the_key_and_store_nothing(api_host, tenant_a):
    before = IdempotencyRecord.objects.count()
    credentials = {"email": tenant_a.owner.email, "password": PASSWORD}

    login = post_with_key(api_host, "/auth/login", credentials, "auth-key").json()
    login_again = post_with_key(api_host, "/auth/login", credentials, "auth-key").json()
    refreshed = post_with_key(api_host, "/auth/refresh", {"refresh_token": login["refresh_token"]}, "refresh-key")
    replayed = post_with_key(api_host, "/auth/refresh", {"refresh_token": login["refresh_token"]}, "refresh-key")
    registered = post_with_key(
        api_host,
        "/auth/register",
        {"business_name": "Keyed Co", "email": "keyed@keyed.test", "password": PASSWORD, "slug": "keyed-co"},
        "register-key",
    )

    assert login_again["refresh_token"] != login["refresh_token"]
    assert refreshed.status_code == 200
    # The spent token is refused (and its family revoked), never answered with live tokens again.
    assert assert_refused(replayed, 401)["errors"][0]["code"] == "refresh_reused"
    assert registered.status_code == 201
    assert IdempotencyRecord.objects.count() == before


def request_with_key(key: str, user_id: int):
    request = RequestFactory().post("/api/v1/things", {"name": "x"}, content_type="application/json")
    request.META["HTTP_IDEMPOTENCY_KEY"] = key
    request.access_claims = AccessClaims(user_id=user_id, tenant=None, role=None, jti="test")
    request.tenant = None
    return request


def test_an_answer_carrying_a_secret_is_never_stored(db):
    calls = []

    def answer_with_token(request):
        calls.append(request)
        return JsonResponse({"id": 1, "feed": {"token": "s3cret-token"}}, status=201)

    run = with_idempotency_key(answer_with_token)
    first = run(request_with_key("secret-key", user_id=999_001))
    second = run(request_with_key("secret-key", user_id=999_001))

    assert (first.status_code, second.status_code) == (201, 201)
    assert len(calls) == 2
    assert not IdempotencyRecord.objects.filter(key="secret-key").exists()


def test_an_exception_escaping_the_operation_releases_the_key(db):
    def crash(request):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        with_idempotency_key(crash)(request_with_key("crash-key", user_id=999_002))

    assert not IdempotencyRecord.objects.filter(key="crash-key").exists()


def test_a_500_releases_the_key_so_a_retry_runs(tenant_a, monkeypatch):
    create_customer = customers_api.services.create_customer
    attempts = []

    def fail_once(**kwargs):
        attempts.append(kwargs)
        if len(attempts) == 1:
            raise RuntimeError("database hiccup")
        return create_customer(**kwargs)

    monkeypatch.setattr(customers_api.services, "create_customer", fail_once)
    api = tenant_a.api()

    failed = post_with_key(api, "/customers", {"name": "Retry Me"}, "retry-key")
    retried = post_with_key(api, "/customers", {"name": "Retry Me"}, "retry-key")

    assert failed.status_code == 500
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried


def test_a_key_in_progress_is_409_until_abandoned_then_taken_over(tenant_a):
    api = tenant_a.api()
    first = post_with_key(api, "/customers", {"name": "Killed Mid-Request"}, "abandoned")
    # As if the first request were still running (its worker not yet killed).
    IdempotencyRecord.objects.filter(key="abandoned").update(status_code=None)

    while_running = post_with_key(api, "/customers", {"name": "Killed Mid-Request"}, "abandoned")
    IdempotencyRecord.objects.filter(key="abandoned").update(
        created_at=timezone.now() - services.IN_PROGRESS_TIMEOUT - timedelta(seconds=1)
    )
    after_timeout = post_with_key(api, "/customers", {"name": "Killed Mid-Request"}, "abandoned")

    assert assert_refused(while_running, 409)["errors"] == [{"code": "in_progress"}]
    assert after_timeout.status_code == 201
    assert "Idempotent-Replayed" not in after_timeout
    assert after_timeout.json()["id"] != first.json()["id"]


def test_an_expired_answer_is_not_replayed(tenant_a):
    api = tenant_a.api()
    first = post_with_key(api, "/customers", {"name": "Yesterday"}, "old-key")
    IdempotencyRecord.objects.filter(key="old-key").update(created_at=timezone.now() - services.RECORD_TTL)

    again = post_with_key(api, "/customers", {"name": "Yesterday"}, "old-key")

    assert again.status_code == 201
    assert again.json()["id"] != first.json()["id"]


@pytest.mark.concurrency
def test_same_key_while_the_first_request_runs_is_409_and_only_one_runs(committed_tenant, monkeypatch):
    create_customer = customers_api.services.create_customer
    started, finish = threading.Event(), threading.Event()

    def slow_create(**kwargs):
        started.set()
        finish.wait(timeout=10)
        return create_customer(**kwargs)

    monkeypatch.setattr(customers_api.services, "create_customer", slow_create)
    api = committed_tenant.api()
    first: list = []

    def post_first() -> None:
        try:
            first.append(post_with_key(api, "/customers", {"name": "Only Once"}, "parallel"))
        finally:
            connection.close()

    thread = threading.Thread(target=post_first)
    try:
        thread.start()
        assert started.wait(timeout=10)
        concurrent = post_with_key(api, "/customers", {"name": "Only Once"}, "parallel")
        finish.set()
        thread.join(timeout=JOIN_TIMEOUT)
        assert not thread.is_alive()
        replayed = post_with_key(api, "/customers", {"name": "Only Once"}, "parallel")

        assert assert_refused(concurrent, 409)["errors"] == [{"code": "in_progress"}]
        assert first[0].status_code == 201
        assert replayed.json() == first[0].json()
        with committed_tenant.schema():
            assert Customer.objects.filter(name="Only Once").count() == 1
    finally:
        finish.set()
        IdempotencyRecord.objects.filter(scope=scope_of(committed_tenant)).delete()


def test_purge_deletes_records_older_than_24_hours(db):
    IdempotencyRecord.objects.create(scope="public:user:1", key="old", request_hash="-", status_code=201)
    IdempotencyRecord.objects.create(scope="public:user:1", key="fresh", request_hash="-", status_code=201)
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - services.RECORD_TTL)

    services.purge_expired_idempotency_records()

    assert set(IdempotencyRecord.objects.filter(scope="public:user:1").values_list("key", flat=True)) == {"fresh"}


def test_the_scheduler_runs_the_purge(unblocked_db):
    old = IdempotencyRecord.objects.create(scope="public:user:2", key="scheduled", request_hash="-", status_code=201)
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - services.RECORD_TTL)
    broker.flush_all()
    worker = Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        call_command("run_scheduler", "--once")
        broker.join(actors.purge_idempotency_records.queue_name, timeout=JOIN_TIMEOUT * 1000)
        worker.join()
        purged = not IdempotencyRecord.objects.filter(pk=old.pk).exists()
    finally:
        worker.stop()
        IdempotencyRecord.objects.filter(pk=old.pk).delete()

    assert purged
