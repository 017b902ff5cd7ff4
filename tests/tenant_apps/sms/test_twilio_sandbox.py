"""The Twilio sandbox as the real SDK sees it: segments, Twilio's magic test numbers, failed
deliveries in signed status callbacks, and signed inbound texts and MMS."""

import base64

import pytest
import requests
from django.conf import settings
from twilio.base.exceptions import TwilioRestException

from tenant_apps.sms.gateway import SANDBOX_ACCOUNT_SID, twilio_client
from tests.tenant_apps.sms import fixtures
from tests.tenant_apps.sms.sandbox import receiving_webhooks, running_sandbox

SENDER = fixtures.SENDER
TOKEN = "sandbox-test-token"


@pytest.fixture
def sandbox_url(settings):
    """A sandbox that posts status callbacks and inbound texts, as the SDK's Twilio."""
    with running_sandbox(callbacks=True, auth_token=TOKEN, account_sid=SANDBOX_ACCOUNT_SID) as (_, url):
        settings.TWILIO_ACCOUNT_SID = ""
        settings.TWILIO_AUTH_TOKEN = TOKEN
        settings.TWILIO_SANDBOX_URL = url
        yield url


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),  # 153 per part once split
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # a GSM-7 extension character takes two septets
        ("€" * 81, 2),
        ("a" * 158 + "€", 1),  # 160 septets
        ("a" * 159 + "€", 2),  # 161 septets in 160 characters
        ("ú" * 70, 1),  # not GSM-7: UCS-2, 70 in one message
        ("ú" * 71, 2),  # 67 per part
        ("😀" * 36, 2),  # a surrogate pair is two UCS-2 units
    ],
)
def test_the_sandbox_counts_real_segments(sandbox_url, body, segments):
    sent = twilio_client().messages.create(to="+12025550111", from_=SENDER, body=body)

    assert sent.num_segments == str(segments)


@pytest.mark.parametrize(
    ("to", "code"),
    [
        ("+15005550001", 21211),
        ("+15005550002", 21612),
        ("+15005550003", 21408),
        ("+15005550004", 21610),
        ("+15005550009", 21614),
    ],
)
def test_twilios_magic_numbers_are_refused_with_twilios_codes(sandbox_url, to, code):
    with pytest.raises(TwilioRestException) as refused:
        twilio_client().messages.create(to=to, from_=SENDER, body="Hi")

    assert (refused.value.status, refused.value.code) == (400, code)


@pytest.mark.parametrize(
    ("to", "callbacks"),
    [
        ("+12025550111", [("sent", None), ("delivered", None)]),
        ("+15005553003", [("sent", None), ("undelivered", "30003")]),
        ("+15005553007", [("failed", "30007")]),
    ],
)
def test_status_callbacks_report_the_delivery_signed_and_fetch_agrees(sandbox_url, to, callbacks):
    with receiving_webhooks(TOKEN) as receiver:
        sent = twilio_client().messages.create(to=to, from_=SENDER, body="Hi", status_callback=receiver.url)
        received = receiver.wait_for(len(callbacks))

    fetched = twilio_client().messages(sent.sid).fetch()
    assert [(params["MessageStatus"], params.get("ErrorCode")) for params, _ in received] == callbacks
    assert all(valid and params["MessageSid"] == sent.sid for params, valid in received)
    final_status, final_error = callbacks[-1]
    assert (fetched.status, fetched.error_code) == (final_status, int(final_error) if final_error else None)


def test_an_inbound_mms_is_posted_signed_and_its_media_needs_the_accounts_auth(sandbox_url):
    photo = b"\xff\xd8\xff a photo of the leak"
    with receiving_webhooks(TOKEN) as receiver:
        answer = requests.post(
            f"{sandbox_url}/sandbox/inbound",
            json={
                "from": "+12025550111",
                "to": SENDER,
                "body": "Here it is",
                "media": [
                    {"content_type": "image/jpeg", "content_base64": base64.b64encode(photo).decode()},
                    {"content_type": "image/png"},
                ],
                "url": receiver.url,
            },
            timeout=10,
        )
        [(params, valid)] = receiver.wait_for(1)

    media_url = params["MediaUrl0"]
    anonymous = requests.get(media_url, timeout=5)
    with_auth = requests.get(media_url, auth=(SANDBOX_ACCOUNT_SID, TOKEN), timeout=5)
    assert answer.status_code == 200
    assert answer.json()["sid"] == params["MessageSid"]
    assert answer.json()["webhook_status"] == 200
    assert valid
    assert params["MessageSid"].startswith("MM")
    assert (params["From"], params["To"], params["Body"], params["NumMedia"]) == (
        "+12025550111",
        SENDER,
        "Here it is",
        "2",
    )
    assert (params["MediaContentType0"], params["MediaContentType1"]) == ("image/jpeg", "image/png")
    assert media_url.startswith(
        f"{sandbox_url}/2010-04-01/Accounts/{SANDBOX_ACCOUNT_SID}/Messages/{params['MessageSid']}/Media/ME"
    )
    assert (params["AccountSid"], params["SmsStatus"]) == (SANDBOX_ACCOUNT_SID, "received")
    assert anonymous.status_code == 401
    assert (with_auth.status_code, with_auth.headers["Content-Type"], with_auth.content) == (200, "image/jpeg", photo)


def test_an_inbound_text_has_no_media_and_counts_its_segments(sandbox_url):
    with receiving_webhooks(TOKEN) as receiver:
        requests.post(
            f"{sandbox_url}/sandbox/inbound",
            json={"from": "+12025550111", "to": SENDER, "body": "ú" * 71, "url": receiver.url},
            timeout=10,
        )
        [(params, valid)] = receiver.wait_for(1)

    assert valid
    assert params["MessageSid"].startswith("SM")
    assert (params["NumMedia"], params["NumSegments"]) == ("0", "2")
    assert not any(name.startswith("MediaUrl") for name in params)


@pytest.mark.parametrize(
    "request_body",
    [
        b"not json",
        b"[]",
        b'{"to": "+12025550100"}',
        b'{"from": "+1", "to": "+2", "media": "photo"}',
        b'{"from": "+1", "to": "+2", "media": [{"content_base64": "not base64!"}]}',
        b'{"from": "+1", "to": "+2", "media": [{"url": 7}]}',
        b'{"from": "+1", "to": "+2", "url": ["http://x"]}',
    ],
)
def test_a_bad_inbound_request_is_400_in_twilios_error_shape(sandbox_url, request_body):
    answer = requests.post(f"{sandbox_url}/sandbox/inbound", data=request_body, timeout=5)

    assert answer.status_code == 400
    assert {"code", "message", "status"} <= set(answer.json())


def test_the_sandbox_signs_with_the_configured_token(sandbox_url):
    with receiving_webhooks("another-token") as receiver:
        requests.post(
            f"{sandbox_url}/sandbox/inbound",
            json={"from": "+12025550111", "to": SENDER, "body": "Hi", "url": receiver.url},
            timeout=10,
        )
        [(_, valid)] = receiver.wait_for(1)

    assert settings.TWILIO_AUTH_TOKEN == TOKEN
    assert valid is False


@pytest.mark.parametrize("authorization", ["Basic !!!not-base64!!!", "Basic //79", "Basic"])
def test_a_malformed_basic_auth_header_is_401_not_a_crash(sandbox_url, authorization):
    answer = requests.get(
        f"{sandbox_url}/2010-04-01/Accounts/{SANDBOX_ACCOUNT_SID}/Messages.json",
        headers={"Authorization": authorization},
        timeout=5,
    )

    assert answer.status_code == 401
