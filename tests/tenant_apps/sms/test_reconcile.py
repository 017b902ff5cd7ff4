"""Texts left `sending` are settled by asking Twilio (the sandbox), never by sending again."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from shared_apps.webhooks.models import ProviderRoute
from tenant_apps.sms import gateway, reconcile, services
from tenant_apps.sms.models import Message
from tests.tenant_apps.sms import fixtures
from tests.tenant_apps.sms.sandbox import running_sandbox

SENDER = fixtures.SENDER
sandbox = fixtures.sandbox
sender = fixtures.sender

LATER = timedelta(minutes=3)


@pytest.fixture
def slow_sandbox(settings, monkeypatch) -> Iterator:
    """A sandbox that keeps a text and answers after the client gave up waiting."""
    monkeypatch.setattr(gateway, "TIMEOUT_SECONDS", 0.2)
    with running_sandbox(callbacks=False, answer_delay=0.6) as (sandbox, url):
        settings.TWILIO_ACCOUNT_SID = ""
        settings.TWILIO_SANDBOX_URL = url
        yield sandbox


def queue_and_send(test_tenant, body: str = "See you at 9") -> Message:
    with test_tenant.schema():
        message = services.queue_sms(tenant=test_tenant.tenant, to="+12025550111", body=body)
        return services.send_queued_sms(message_id=message.pk, tenant_id=test_tenant.tenant.pk)


def reconcile_later(test_tenant, after: timedelta = LATER) -> int:
    with test_tenant.schema():
        return reconcile.reconcile_messages(tenant_id=test_tenant.tenant.pk, now=timezone.now() + after)


def reload(test_tenant, message_id: int) -> Message:
    with test_tenant.schema():
        return Message.objects.get(pk=message_id)


def test_a_timed_out_send_that_twilio_accepted_is_found_by_listing_and_never_resent(sender, slow_sandbox):
    with sender.schema():
        message = services.queue_sms(tenant=sender.tenant, to="+12025550111", body="See you at 9")
        with pytest.raises(gateway.TwilioUnreachable):
            services.send_queued_sms(message_id=message.pk, tenant_id=sender.tenant.pk)
    [accepted] = slow_sandbox.messages.values()
    accepted["status"] = "delivered"

    looked_up = reconcile_later(sender)

    settled = reload(sender, message.pk)
    assert looked_up == 1
    assert (settled.provider_sid, settled.status) == (accepted["sid"], "delivered")
    assert len(slow_sandbox.messages) == 1
    route = ProviderRoute.objects.get(provider="twilio", external_id=accepted["sid"])
    assert route.tenant_id == sender.tenant.pk


def test_a_lost_status_callback_is_replaced_by_fetching_the_message(sender, sandbox):
    sent = queue_and_send(sender)
    sandbox.messages[sent.provider_sid].update(status="undelivered", error_code=30003)

    reconcile_later(sender)

    settled = reload(sender, sent.pk)
    assert (settled.status, settled.error_code) == ("undelivered", 30003)
    assert len(sandbox.messages) == 1


def test_a_transport_error_leaves_the_text_sending_for_the_next_pass(sender, sandbox, settings):
    sent = queue_and_send(sender)
    sandbox.messages[sent.provider_sid]["status"] = "delivered"
    sandbox_url = settings.TWILIO_SANDBOX_URL
    settings.TWILIO_SANDBOX_URL = "http://127.0.0.1:9"  # nothing listens

    unreachable = reconcile_later(sender)
    still = reload(sender, sent.pk).status
    settings.TWILIO_SANDBOX_URL = sandbox_url
    reconcile_later(sender)

    assert (unreachable, still) == (0, "sending")
    assert reload(sender, sent.pk).status == "delivered"
    assert len(sandbox.messages) == 1


def test_a_text_twilio_never_got_fails_only_after_the_grace_period(sender, sandbox):
    with sender.schema():
        message = services.queue_sms(tenant=sender.tenant, to="+12025550111", body="Lost on the way")
        Message.objects.filter(pk=message.pk).update(status=Message.Status.SENDING)

    reconcile_later(sender)
    waiting = reload(sender, message.pk).status
    reconcile_later(sender, after=reconcile.GIVE_UP_AFTER + LATER)

    failed = reload(sender, message.pk)
    assert waiting == "sending"
    assert (failed.status, failed.note) == ("failed", reconcile.NOT_SENT_NOTE)
    assert sandbox.messages == {}


def test_recent_sends_and_settled_texts_are_not_looked_up(sender, sandbox):
    sent = queue_and_send(sender)
    with sender.schema():
        delivered = services.queue_sms(tenant=sender.tenant, to="+12025550112", body="Done")
        Message.objects.filter(pk=delivered.pk).update(status=Message.Status.DELIVERED)

    assert reconcile_later(sender, after=timedelta(seconds=30)) == 0
    assert reconcile_later(sender) == 1
    assert reload(sender, sent.pk).status == "sending"  # Twilio still says queued


def test_the_periodic_pass_visits_every_business_that_texts(sender, sandbox, tenant_b):
    sent = queue_and_send(sender)
    sandbox.messages[sent.provider_sid]["status"] = "sent"

    looked_up = reconcile.reconcile_all_tenants(now=timezone.now() + LATER)

    assert looked_up == 1
    assert reload(sender, sent.pk).status == "sent"


HOURS_LATER = reconcile.SETTLE_SENT_AFTER + timedelta(minutes=1)


def sent_without_final_callback(test_tenant) -> Message:
    """A text Twilio accepted and reported `sent`, whose final callback never came."""
    sent = queue_and_send(test_tenant)
    with test_tenant.schema():
        return services.apply_status_callback(provider_sid=sent.provider_sid, twilio_status="sent", error_code=None)


@pytest.mark.parametrize(("at_twilio", "error_code"), [("delivered", None), ("undelivered", 30003), ("failed", 30007)])
def test_a_sent_text_whose_final_callback_was_lost_is_settled_by_fetching_it_hours_later(
    sender, sandbox, at_twilio, error_code
):
    sent = sent_without_final_callback(sender)
    sandbox.messages[sent.provider_sid].update(status=at_twilio, error_code=error_code)

    soon = reconcile_later(sender, after=reconcile.SETTLE_SENT_AFTER - timedelta(minutes=1))
    still = reload(sender, sent.pk).status
    hours_later = reconcile_later(sender, after=HOURS_LATER)

    settled = reload(sender, sent.pk)
    assert (soon, still) == (0, "sent")
    assert hours_later == 1
    assert (settled.status, settled.error_code) == (at_twilio, error_code)
    assert len(sandbox.messages) == 1


def test_a_text_twilio_itself_still_calls_sent_is_asked_about_once(sender, sandbox):
    sent = sent_without_final_callback(sender)
    now = timezone.now() + HOURS_LATER

    with sender.schema():
        first = reconcile.reconcile_messages(tenant_id=sender.tenant.pk, now=now)
        second = reconcile.reconcile_messages(tenant_id=sender.tenant.pk, now=now + HOURS_LATER)

    checked = reload(sender, sent.pk)
    assert (first, second) == (1, 0)
    assert (checked.status, checked.delivery_checked_at) == ("sent", now)


def test_a_sent_text_twilio_cannot_be_asked_about_is_asked_again_next_pass(sender, sandbox, settings):
    sent = sent_without_final_callback(sender)
    sandbox.messages[sent.provider_sid]["status"] = "delivered"
    sandbox_url = settings.TWILIO_SANDBOX_URL
    settings.TWILIO_SANDBOX_URL = "http://127.0.0.1:9"  # nothing listens

    unreachable = reconcile_later(sender, after=HOURS_LATER)
    still = reload(sender, sent.pk)
    settings.TWILIO_SANDBOX_URL = sandbox_url
    reconcile_later(sender, after=HOURS_LATER)

    assert (unreachable, still.status, still.delivery_checked_at) == (0, "sent", None)
    assert reload(sender, sent.pk).status == "delivered"
