"""Outbound webhooks end to end: a change in the business emits a domain event, the
integrations subscriber makes a delivery per endpoint, the delivery job POSTs it to a real
receiver on the loopback, which verifies every delivery with the `standardwebhooks` library."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from shared_apps.outbox.models import OutboxMessage
from shared_apps.redis_client import redis_client
from tenant_apps.integrations import limits, services
from tenant_apps.integrations.models import WebhookDelivery, WebhookEndpoint
from tests.events import deliver_events
from tests.isolation import assert_refused
from tests.tenant_apps.integrations.jobs import JOBS, run_webhook_jobs
from tests.tenant_apps.integrations.receiver import webhook_receiver


def _endpoint(tenant, receiver, event_types=("customer.created",)) -> dict:
    response = tenant.api().post("/webhooks/endpoints", {"url": receiver.url, "event_types": list(event_types)})
    assert response.status_code == 201, response.content
    body = response.json()
    receiver.secrets.append(body["secret"])
    return body


def _customer_created(tenant, name="Ada") -> int:
    customer_id = tenant.api().post("/customers", {"name": name}).json()["id"]
    deliver_events()
    return customer_id


def _log(tenant, endpoint_id) -> list[dict]:
    return tenant.api().get(f"/webhooks/endpoints/{endpoint_id}/deliveries").json()["items"]


def test_an_event_is_delivered_signed_and_logged(tenant_a):
    with webhook_receiver() as receiver:
        endpoint = _endpoint(tenant_a, receiver)
        customer_id = _customer_created(tenant_a)

        assert run_webhook_jobs() == ["succeeded"]

    [got] = receiver.received
    [logged] = _log(tenant_a, endpoint["id"])
    assert got.payload["type"] == "customer.created"
    assert got.payload["data"] == {"customer_id": customer_id, "name": "Ada"}
    assert set(got.payload) == {"type", "timestamp", "data"}
    assert got.headers["webhook-id"] == logged["message_id"]
    assert logged["status"] == "succeeded"
    assert logged["attempts"][0]["status_code"] == 200
    assert logged["attempts"][0]["response_excerpt"] == '{"ok": true}'
    assert receiver.refused == []


def test_endpoints_get_only_the_types_they_chose(tenant_a):
    with webhook_receiver() as receiver:
        _endpoint(tenant_a, receiver, event_types=["invoice.paid"])
        _customer_created(tenant_a)

        assert run_webhook_jobs() == []

    assert receiver.requests == 0


def test_another_businesss_events_never_reach_this_endpoint(tenant_a, tenant_b):
    with webhook_receiver() as receiver:
        _endpoint(tenant_a, receiver)
        _customer_created(tenant_b, name="Bob")

        assert run_webhook_jobs() == []

    assert receiver.requests == 0


def test_500_then_200_is_retried_with_the_same_webhook_id(tenant_a):
    with webhook_receiver(statuses=[500]) as receiver:
        endpoint = _endpoint(tenant_a, receiver)
        _customer_created(tenant_a)

        first = run_webhook_jobs()
        [retrying] = _log(tenant_a, endpoint["id"])
        later = run_webhook_jobs(including_later=True)

    [logged] = _log(tenant_a, endpoint["id"])
    assert first == ["retrying"]
    assert later == ["succeeded"]
    wait = timezone.datetime.fromisoformat(retrying["next_attempt_at"]) - timezone.datetime.fromisoformat(
        retrying["attempts"][0]["attempted_at"]
    )
    assert timedelta(seconds=4) <= wait <= timedelta(seconds=6)  # 5 s with jitter
    assert [attempt["status_code"] for attempt in logged["attempts"]] == [200, 500]
    assert len(logged["attempts"][1]["response_excerpt"]) == 1000  # bounded
    assert {delivery.headers["webhook-id"] for delivery in receiver.received} == {logged["message_id"]}


def test_a_receiver_that_hangs_times_out_and_is_retried(tenant_a, settings):
    settings.WEBHOOK_TIMEOUT = 0.5
    with webhook_receiver(hang_seconds=3) as receiver:
        endpoint = _endpoint(tenant_a, receiver)
        _customer_created(tenant_a)

        assert run_webhook_jobs() == ["retrying"]

    [attempt] = _log(tenant_a, endpoint["id"])[0]["attempts"]
    assert attempt["status_code"] is None
    assert attempt["error"] == "No answer within 0.5 s."
    assert attempt["latency_ms"] < 2000


def test_a_redirect_is_not_followed(tenant_a):
    with webhook_receiver() as target, webhook_receiver(redirect_to=target.url) as receiver:
        endpoint = _endpoint(tenant_a, receiver)
        _customer_created(tenant_a)

        assert run_webhook_jobs() == ["retrying"]

    [attempt] = _log(tenant_a, endpoint["id"])[0]["attempts"]
    assert attempt["status_code"] == 302
    assert attempt["error"] == "Answered 302 (redirects are not followed)."
    assert target.requests == 0


def test_after_a_rotation_both_secrets_sign_until_the_overlap_ends(tenant_a, settings):
    with webhook_receiver() as receiver:
        endpoint = _endpoint(tenant_a, receiver)
        old_secret = receiver.secrets[0]
        rotated = tenant_a.api().post(f"/webhooks/endpoints/{endpoint['id']}/rotate-secret").json()
        receiver.secrets.append(rotated["secret"])
        _customer_created(tenant_a)
        run_webhook_jobs()
        settings.WEBHOOK_SECRET_OVERLAP = timedelta(0)
        tenant_a.api().post(f"/webhooks/endpoints/{endpoint['id']}/rotate-secret")
        newest = tenant_a.api().post(f"/webhooks/endpoints/{endpoint['id']}/rotate-secret").json()
        receiver.secrets.append(newest["secret"])
        _customer_created(tenant_a, name="Grace")
        run_webhook_jobs()

    during, after = receiver.received
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != old_secret
    assert during.verified_with == [old_secret, rotated["secret"]]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert after.verified_with == [newest["secret"]]


def test_resend_one_and_resend_since_keep_the_webhook_id(tenant_a):
    with webhook_receiver() as receiver:
        endpoint = _endpoint(tenant_a, receiver)
        before = timezone.now()
        _customer_created(tenant_a)
        _customer_created(tenant_a, name="Grace")
        run_webhook_jobs()
        first, second = _log(tenant_a, endpoint["id"])
        resent = tenant_a.api().post(f"/webhooks/endpoints/{endpoint['id']}/deliveries/{first['id']}/resend")
        run_webhook_jobs()
        since = tenant_a.api().post(f"/webhooks/endpoints/{endpoint['id']}/resend", {"since": before.isoformat()})
        run_webhook_jobs()

    ids = [delivery.headers["webhook-id"] for delivery in receiver.received]
    assert resent.status_code == 202 and resent.json()["status"] == "pending"
    assert since.status_code == 202 and since.json() == {"count": 2}
    assert sorted(ids) == sorted([first["message_id"]] * 3 + [second["message_id"]] * 2)
    assert [attempt["manual"] for attempt in _log(tenant_a, endpoint["id"])[0]["attempts"]] == [True, True, False]


def test_test_ping_reaches_the_endpoint(tenant_a):
    with webhook_receiver() as receiver:
        endpoint = _endpoint(tenant_a, receiver)
        response = tenant_a.api().post(f"/webhooks/endpoints/{endpoint['id']}/test")
        run_webhook_jobs()

    [got] = receiver.received
    assert response.status_code == 202
    assert got.payload["type"] == "webhook.test"
    assert got.payload["data"] == {"endpoint_id": endpoint["id"]}


def test_a_busy_endpoint_waits_without_a_request(tenant_a, settings):
    settings.WEBHOOK_ENDPOINT_CONCURRENCY = 1
    with webhook_receiver() as receiver:
        endpoint = _endpoint(tenant_a, receiver)
        _customer_created(tenant_a)
        schema = tenant_a.tenant.schema_name
        with limits.endpoint_slot(schema_name=schema, endpoint_id=endpoint["id"], limit=1) as slot:
            outcome = run_webhook_jobs()
        requeued = OutboxMessage.objects.filter(actor_name=services.DELIVER_ACTOR, published_at__isnull=True).get()
        after = run_webhook_jobs(including_later=True)

    assert slot.taken
    assert outcome == ["busy"]
    # The slot's holder is fresh, so the wait is the short one (0.5 s with jitter).
    assert requeued.kwargs["postponed"] == 1
    assert requeued.run_at - requeued.created_at < timedelta(seconds=1)
    assert after == ["succeeded"]
    assert receiver.requests == 1


@pytest.mark.parametrize("failing_for", [timedelta(hours=47), timedelta(hours=49)])
def test_an_endpoint_failing_for_days_is_disabled_and_its_owner_emailed(tenant_a, failing_for):
    with webhook_receiver(statuses=[503]) as receiver:
        endpoint = _endpoint(tenant_a, receiver)
        with tenant_a.schema():
            WebhookEndpoint.objects.filter(pk=endpoint["id"]).update(failing_since=timezone.now() - failing_for)
        _customer_created(tenant_a)
        run_webhook_jobs()

    state = tenant_a.api().get(f"/webhooks/endpoints/{endpoint['id']}").json()
    disabled = failing_for > timedelta(hours=48)
    assert state["enabled"] is not disabled
    assert [message.to for message in mail.outbox] == ([[tenant_a.owner.email]] if disabled else [])


def test_a_disabled_endpoint_can_be_enabled_again(tenant_a):
    with webhook_receiver(statuses=[503]) as receiver:
        endpoint = _endpoint(tenant_a, receiver)
        with tenant_a.schema():
            WebhookEndpoint.objects.filter(pk=endpoint["id"]).update(failing_since=timezone.now() - timedelta(days=3))
        _customer_created(tenant_a)
        run_webhook_jobs()
        _customer_created(tenant_a, name="Grace")
        version = tenant_a.api().get(f"/webhooks/endpoints/{endpoint['id']}").json()["version"]
        enabled = tenant_a.api().patch(f"/webhooks/endpoints/{endpoint['id']}", {"enabled": True, "version": version})
        _customer_created(tenant_a, name="Alan")
        run_webhook_jobs()

    assert enabled.json()["enabled"] is True and enabled.json()["failing_since"] is None
    # Grace's event came while it was disabled: not delivered (a re-send since can recover it).
    assert [delivery.payload["data"]["name"] for delivery in receiver.received] == ["Ada", "Alan"]


def test_the_secret_is_stored_encrypted(tenant_a):
    with webhook_receiver() as receiver:
        endpoint = _endpoint(tenant_a, receiver)

    with tenant_a.schema():
        stored = WebhookEndpoint.objects.get(pk=endpoint["id"])
        assert receiver.secrets[0] not in stored.secret_encrypted
        assert services.signing_secrets(endpoint=stored, now=timezone.now()) == receiver.secrets
    assert "secret" not in tenant_a.api().get(f"/webhooks/endpoints/{endpoint['id']}").json()


def test_an_http_target_is_refused_at_delivery_once_loopback_is_not_allowed(tenant_a, settings):
    with webhook_receiver() as receiver:
        endpoint = _endpoint(tenant_a, receiver)
        _customer_created(tenant_a)
        settings.WEBHOOK_ALLOW_LOOPBACK = False
        assert run_webhook_jobs() == ["retrying"]

    [attempt] = _log(tenant_a, endpoint["id"])[0]["attempts"]
    assert attempt["error"].startswith("The URL must use https")
    assert receiver.requests == 0
    with tenant_a.schema():
        assert WebhookDelivery.objects.get().status == "pending"


def _hanging_attempt_in_flight(tenant, endpoint, settings, *, seconds_ago: float) -> str:
    """Pretend an attempt to the endpoint has been in flight for `seconds_ago`; returns the key."""
    key = limits._key(schema_name=tenant.tenant.schema_name, endpoint_id=endpoint["id"])
    lifetime = settings.WEBHOOK_TIMEOUT + settings.WEBHOOK_DNS_TIMEOUT + limits.SLOT_MARGIN_SECONDS
    seconds, micros = redis_client().time()
    redis_client().zadd(key, {"hanging-attempt": seconds + micros / 1e6 + lifetime - seconds_ago})
    return key


@pytest.mark.parametrize("postponed", [4, 100])
def test_a_slow_endpoints_backlog_waits_the_longest(tenant_a, settings, postponed):
    with webhook_receiver() as receiver:
        endpoint = _endpoint(tenant_a, receiver)
        _customer_created(tenant_a)
        # An attempt in flight for 5 s already, as a hanging endpoint's would be.
        key = _hanging_attempt_in_flight(tenant_a, endpoint, settings, seconds_ago=5)

        job = OutboxMessage.objects.get(actor_name=services.DELIVER_ACTOR)
        job.kwargs["postponed"] = postponed  # as if it had found the slots taken this often
        job.save(update_fields=["kwargs"])
        outcome = run_webhook_jobs()
        requeued = OutboxMessage.objects.filter(actor_name=services.SLOW_LANE_ACTOR, published_at__isnull=True).get()
        redis_client().delete(key)

    wait = requeued.run_at - requeued.created_at
    # Moved to the slow lane at once, where one attempt at a time is made: it waits there.
    assert outcome == ["moved", "busy"]
    assert requeued.kwargs["postponed"] == postponed + 1
    assert services.SLOW_WAIT_MAX * (1 - services.JITTER) <= wait <= services.SLOW_WAIT_MAX * (1 + services.JITTER)
    assert receiver.requests == 0


def test_a_disabled_endpoint_refuses_resends_until_enabled(tenant_a):
    with webhook_receiver() as receiver:
        endpoint = _endpoint(tenant_a, receiver)
        _customer_created(tenant_a)
        run_webhook_jobs()
        [delivery] = _log(tenant_a, endpoint["id"])
        disabled = tenant_a.api().patch(f"/webhooks/endpoints/{endpoint['id']}", {"enabled": False, "version": 1})
        base = f"/webhooks/endpoints/{endpoint['id']}"

        one = tenant_a.api().post(f"{base}/deliveries/{delivery['id']}/resend")
        since = tenant_a.api().post(f"{base}/resend", {"since": delivery["created_at"]})

    assert disabled.json()["enabled"] is False
    assert assert_refused(one, 409)["errors"][0]["code"] == "endpoint_disabled"
    assert assert_refused(since, 409)["errors"][0]["code"] == "endpoint_disabled"
    assert receiver.requests == 1


def _lane_of_next_attempt() -> str:
    return OutboxMessage.objects.filter(actor_name__in=JOBS, published_at__isnull=True).latest("id").actor_name


def test_a_hanging_endpoint_goes_to_the_slow_lane_and_returns_when_it_answers(tenant_a, settings):
    settings.WEBHOOK_TIMEOUT = 0.5
    with webhook_receiver(hang_seconds=2) as receiver:
        endpoint = _endpoint(tenant_a, receiver)
        _customer_created(tenant_a)
        first_lane = _lane_of_next_attempt()
        first = run_webhook_jobs()
        retry_lane = _lane_of_next_attempt()
        _customer_created(tenant_a, name="Grace")
        failing_lane = _lane_of_next_attempt()

        receiver.hang_seconds = 0  # it answers again
        recovered = run_webhook_jobs(including_later=True)
        _customer_created(tenant_a, name="Alan")
        recovered_lane = _lane_of_next_attempt()
        last = run_webhook_jobs()

    assert first_lane == services.DELIVER_ACTOR  # healthy until it failed
    assert first == ["retrying"]
    assert retry_lane == failing_lane == services.SLOW_LANE_ACTOR
    # The first success ends the failing state: the next attempt moves back to the healthy lane.
    assert recovered == ["succeeded", "moved", "succeeded"]
    assert recovered_lane == services.DELIVER_ACTOR
    assert last == ["succeeded"]
    assert sorted(delivery.payload["data"]["name"] for delivery in receiver.received) == ["Ada", "Alan", "Grace"]
    assert tenant_a.api().get(f"/webhooks/endpoints/{endpoint['id']}").json()["failing_since"] is None


def test_a_slow_lane_attempt_to_an_endpoint_healthy_again_moves_back(tenant_a, settings):
    with webhook_receiver() as receiver:
        endpoint = _endpoint(tenant_a, receiver)
        with tenant_a.schema():
            WebhookEndpoint.objects.filter(pk=endpoint["id"]).update(failing_since=timezone.now())
        _customer_created(tenant_a)
        with tenant_a.schema():
            WebhookEndpoint.objects.filter(pk=endpoint["id"]).update(failing_since=None)
        outcome = run_webhook_jobs()

    assert outcome == ["moved", "succeeded"]
    assert receiver.requests == 1
