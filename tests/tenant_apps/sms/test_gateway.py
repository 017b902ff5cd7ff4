"""The Twilio gateway against the sandbox (the real SDK underneath): our TwilioMessage for an
answer, TwilioRefused for an error answer, None for a text Twilio has no record of, and
TwilioUnreachable when nothing answers."""

import pytest

from tenant_apps.sms import gateway
from tests.tenant_apps.sms import fixtures
from tests.tenant_apps.sms.sandbox import running_sandbox

SENDER = fixtures.SENDER


@pytest.fixture
def sandbox(settings):
    with running_sandbox(callbacks=False) as (sandbox, url):
        settings.TWILIO_ACCOUNT_SID = ""
        settings.TWILIO_SANDBOX_URL = url
        yield sandbox


def test_a_sent_text_is_answered_as_our_message_and_fetched_and_listed_alike(sandbox):
    sent = gateway.send_message(to="+12025550111", from_=SENDER, body="See you at 9")

    assert isinstance(sent, gateway.TwilioMessage)
    assert sent.sid.startswith("SM") and sent.body == "See you at 9" and sent.status == "queued"
    assert gateway.fetch_message(sid=sent.sid) == sent
    assert gateway.list_messages(to="+12025550111", from_=SENDER, limit=50) == [sent]


def test_a_refused_text_raises_twilio_refused_with_twilios_code(sandbox):
    with pytest.raises(gateway.TwilioRefused) as refused:
        gateway.send_message(to="+15005550004", from_=SENDER, body="Hi")

    assert (refused.value.status, refused.value.code) == (400, 21610)


def test_a_text_twilio_has_no_record_of_is_none(sandbox):
    assert gateway.fetch_message(sid="SM" + "0" * 32) is None


def test_no_answer_raises_twilio_unreachable(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_SANDBOX_URL = "http://127.0.0.1:9"  # nothing listens

    with pytest.raises(gateway.TwilioUnreachable):
        gateway.fetch_message(sid="SM" + "0" * 32)
