from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from twilio.request_validator import RequestValidator

from shared_apps.outbox.models import OutboxMessage
from shared_apps.webhooks import services
from shared_apps.webhooks.handlers import register_webhook_handler, unregister_webhook_handler, webhook_handler
from shared_apps.webhooks.models import WebhookEvent
from shared_apps.webhooks.twilio import MESSAGE_KIND, PROVIDER, SENDER_KIND
from tests.api.generic import assert_query_count, counted
from tests.api.test_platform import platform_api  # noqa: F401 - fixture
from tests.concurrency import run_at_once
from tests.isolation import assert_refused

PATH = "/api/v1/sms/webhook"
LOCAL_URL = f"http://{settings.BASE_DOMAIN}{PATH}"
NUMBER_A = "+15005550001"
NUMBER_B = "+15005550002"
CUSTOMER = "+15005559999"
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response />'


def inbound(sid: str = "SM00000000000000000000000000000001", *, to: str = NUMBER_A, sender: str = CUSTOMER):
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": sender,
        "To": to,
        "Body": "Hello, can you come on Tuesday?",
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }


def status_callback(sid: str, status: str, *, sender: str = NUMBER_A):
    return {"MessageSid": sid, "MessageStatus": status, "SmsStatus": status, "From": sender, "To": CUSTOMER}


def sign(params: dict[str, str], url: str = LOCAL_URL, token: str | None = None) -> str:
    return RequestValidator(token or settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)


def post(
    params: dict[str, str],
    *,
    signature: str | None = None,
    host: str = settings.BASE_DOMAIN,
    path: str = PATH,
    secure: bool = False,
    headers: dict[str, str] | None = None,
):
    extra = {"HTTP_HOST": host, **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}}
    if signature is not None:
        extra["HTTP_X_TWILIO_SIGNATURE"] = signature
    return Client(raise_request_exception=False).post(
        path, data=urlencode(params), content_type="application/x-www-form-urlencoded", secure=secure, **extra
    )


def stored(dedupe_key: str) -> list[WebhookEvent]:
    return list(WebhookEvent.objects.filter(provider=PROVIDER, dedupe_key=dedupe_key))


@pytest.fixture
def numbers(tenant_a, tenant_b):
    for test_tenant, number in ((tenant_a, NUMBER_A), (tenant_b, NUMBER_B)):
        services.claim_provider_route(
            tenant_id=test_tenant.tenant.pk, provider=PROVIDER, kind=SENDER_KIND, external_id=number
        )


@pytest.fixture
def recording_twilio_handler() -> Iterator[list[tuple[str, bytes]]]:
    """Stands in for the SMS module's handler: records (active schema, raw body)."""
    calls: list[tuple[str, bytes]] = []
    previous = webhook_handler(PROVIDER)
    register_webhook_handler(PROVIDER, lambda event: calls.append((connection.schema_name, bytes(event.body))))
    yield calls
    unregister_webhook_handler(PROVIDER)
    if previous is not None:
        register_webhook_handler(PROVIDER, previous)


# Signatures


def test_a_signed_inbound_message_is_stored_routed_and_answered_with_empty_twiml(numbers, tenant_a):
    params = inbound()

    response = post(params, signature=sign(params))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content == EMPTY_TWIML
    [event] = stored(params["MessageSid"])
    assert event.tenant_id == tenant_a.tenant.pk
    assert event.status == WebhookEvent.Status.RECEIVED
    assert bytes(event.body) == urlencode(params).encode()
    assert event.content_type == "application/x-www-form-urlencoded"
    jobs = OutboxMessage.objects.filter(actor_name="process_webhook_event", kwargs__event_id=event.pk)
    assert [job.schema_name for job in jobs] == [tenant_a.tenant.schema_name]


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(sign(inbound(), token="not-our-token"), id="other token"),
        pytest.param(sign({**inbound(), "Body": "tampered"}), id="other body"),
        pytest.param(sign(inbound(), url=f"{LOCAL_URL}?x=1"), id="other url"),
        pytest.param("", id="empty"),
        pytest.param(None, id="missing"),
    ],
)
def test_a_forged_or_unsigned_request_is_403_and_stores_nothing(numbers, signature):
    response = post(inbound(), signature=signature)

    body = assert_refused(response, 403)
    assert body["errors"][0]["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()


def test_the_http_variant_of_an_https_url_is_refused(numbers):
    params = inbound()

    over_http = post(params, signature=sign(params, url=LOCAL_URL), secure=True)
    over_https = post(params, signature=sign(params, url=LOCAL_URL.replace("http://", "https://")), secure=True)

    assert_refused(over_http, 403)
    assert over_https.status_code == 200


def test_behind_a_trusted_proxy_the_forwarded_public_url_is_verified(numbers, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    params = inbound()
    public_url = f"https://hooks.example.com{PATH}"
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hooks.example.com"}

    response = post(params, signature=sign(params, url=public_url), headers=forwarded)

    assert response.status_code == 200
    assert len(stored(params["MessageSid"])) == 1


def test_forwarded_headers_are_ignored_without_trusted_proxies(numbers, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    params = inbound()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hooks.example.com"}

    response = post(params, signature=sign(params, url=f"https://hooks.example.com{PATH}"), headers=forwarded)

    assert_refused(response, 403)


def test_a_client_cannot_prepend_its_own_forwarded_scheme(numbers, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    params = inbound()
    # The client sent "https"; our one proxy appended what it really saw, "http".
    forwarded = {"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "hooks.example.com"}

    response = post(params, signature=sign(params, url=f"https://hooks.example.com{PATH}"), headers=forwarded)

    assert_refused(response, 403)


def test_public_base_url_names_the_signed_url(numbers, settings):
    settings.PUBLIC_BASE_URL = "https://api.example.com/"
    params = inbound()

    accepted = post(params, signature=sign(params, url=f"https://api.example.com{PATH}"))
    refused = post({**params, "MessageSid": "SM2"}, signature=sign({**params, "MessageSid": "SM2"}))

    assert accepted.status_code == 200
    assert_refused(refused, 403)


def test_no_configured_token_refuses_everything(numbers, settings):
    params = inbound()
    signature = sign(params, token="")
    settings.TWILIO_AUTH_TOKEN = ""

    assert_refused(post(params, signature=signature), 403)


# The exact URL on the API host


def test_a_tenant_host_a_trailing_slash_and_get_are_not_the_webhook(numbers, tenant_a):
    params = inbound()

    on_tenant_host = post(params, signature=sign(params, url=f"http://{tenant_a.host}{PATH}"), host=tenant_a.host)
    with_slash = post(params, signature=sign(params, url=f"{LOCAL_URL}/"), path=f"{PATH}/")
    get = Client().get(PATH, HTTP_HOST=settings.BASE_DOMAIN)

    assert_refused(on_tenant_host, 404)
    assert_refused(with_slash, 404)
    assert_refused(get, 405)
    assert not WebhookEvent.objects.exists()


def test_a_signed_request_without_message_sid_is_400(numbers):
    params = {"To": NUMBER_A, "From": CUSTOMER, "Body": "hi"}

    assert_refused(post(params, signature=sign(params)), 400)


# Deduplication and routing


def test_the_same_message_delivered_five_times_is_stored_once(numbers):
    params = inbound()

    responses = [post(params, signature=sign(params)) for _ in range(5)]

    assert [response.status_code for response in responses] == [200] * 5
    [event] = stored(params["MessageSid"])
    assert OutboxMessage.objects.filter(actor_name="process_webhook_event", kwargs__event_id=event.pk).count() == 1


def test_status_callbacks_are_deduplicated_per_status(numbers):
    sid = "SM00000000000000000000000000000042"
    deliveries = [status_callback(sid, status) for status in ("sent", "delivered", "sent", "delivered")]

    for params in deliveries:
        assert post(params, signature=sign(params)).status_code == 200

    keys = sorted(WebhookEvent.objects.filter(provider=PROVIDER).values_list("dedupe_key", flat=True))
    assert keys == [f"{sid}:delivered", f"{sid}:sent"]


def test_an_inbound_message_to_a_number_reaches_its_owner_whatever_from_says(numbers, tenant_a, tenant_b):
    params = inbound(to=NUMBER_A, sender=NUMBER_B)

    post(params, signature=sign(params))

    [event] = stored(params["MessageSid"])
    assert event.tenant_id == tenant_a.tenant.pk
    jobs = OutboxMessage.objects.filter(actor_name="process_webhook_event", kwargs__event_id=event.pk)
    assert [job.schema_name for job in jobs] == [tenant_a.tenant.schema_name]


def test_an_inbound_message_to_an_unknown_number_is_unrouted_even_from_a_known_one(numbers):
    params = inbound(to="+15005550003", sender=NUMBER_A)

    response = post(params, signature=sign(params))

    assert response.content == EMPTY_TWIML
    [event] = stored(params["MessageSid"])
    assert event.status == WebhookEvent.Status.UNROUTED
    assert event.tenant_id is None


def test_a_status_callback_follows_the_stored_message_sid_before_from(numbers, tenant_a, tenant_b):
    sid = "SM00000000000000000000000000000077"
    services.claim_provider_route(tenant_id=tenant_b.tenant.pk, provider=PROVIDER, kind=MESSAGE_KIND, external_id=sid)
    params = status_callback(sid, "delivered", sender=NUMBER_A)

    post(params, signature=sign(params))

    [event] = stored(f"{sid}:delivered")
    assert event.tenant_id == tenant_b.tenant.pk


def test_a_status_callback_without_stored_sid_routes_by_our_number_in_from(numbers, tenant_a):
    params = status_callback("SM00000000000000000000000000000078", "sent", sender=NUMBER_A)

    post(params, signature=sign(params))

    [event] = stored("SM00000000000000000000000000000078:sent")
    assert event.tenant_id == tenant_a.tenant.pk


def test_unrouted_is_listed_for_platform_admins_and_replayed_once_claimed(
    platform_api,  # noqa: F811
    tenant_a,
    recording_twilio_handler,
):
    params = inbound(to="+15005550004")
    post(params, signature=sign(params))

    listed = platform_api.get("/platform/webhook-events", status="unrouted").json()["items"]
    services.claim_provider_route(
        tenant_id=tenant_a.tenant.pk, provider=PROVIDER, kind=SENDER_KIND, external_id="+15005550004"
    )
    replayed = services.replay_webhook_event(event_id=listed[0]["id"])

    assert [item["dedupe_key"] for item in listed] == [params["MessageSid"]]
    assert replayed.status == WebhookEvent.Status.PROCESSED
    assert replayed.tenant_id == tenant_a.tenant.pk
    assert recording_twilio_handler == [(tenant_a.tenant.schema_name, urlencode(params).encode())]


@pytest.mark.concurrency
def test_the_same_message_delivered_concurrently_is_stored_once(committed_tenant):
    services.claim_provider_route(
        tenant_id=committed_tenant.tenant.pk, provider=PROVIDER, kind=SENDER_KIND, external_id="+15005550005"
    )
    params = inbound("SM0000000000000000000000000000race", to="+15005550005")
    signature = sign(params)
    racers = 5

    responses = run_at_once([lambda: post(params, signature=signature)] * racers)

    events = stored(params["MessageSid"])
    jobs = OutboxMessage.objects.filter(actor_name="process_webhook_event", kwargs__event_id__in=[e.pk for e in events])
    job_count = jobs.count()
    jobs.delete()
    assert [response.status_code for response in responses] == [200] * racers
    assert len(events) == 1
    assert events[0].tenant_id == committed_tenant.tenant.pk
    assert job_count == 1


def test_an_inbound_message_costs_its_baseline(numbers):
    params = inbound()

    with CaptureQueriesContext(connection) as captured:
        response = post(params, signature=sign(params))

    assert response.status_code == 200, response.content
    assert_query_count("POST /sms/webhook", counted(captured))
