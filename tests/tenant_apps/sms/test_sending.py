import pytest

from shared_apps.errors import Conflict, NotFound, ValidationFailed
from shared_apps.outbox.models import OutboxMessage
from shared_apps.webhooks.models import ProviderRoute
from tenant_apps.customers.models import Customer
from tenant_apps.sms import gateway, services
from tenant_apps.sms.models import Message
from tests.factories import CustomerFactory
from tests.tenant_apps.sms import fixtures

SENDER = fixtures.SENDER
sandbox = fixtures.sandbox
sender = fixtures.sender


def queue(test_tenant, **kwargs) -> Message:
    with test_tenant.schema():
        return services.queue_sms(tenant=test_tenant.tenant, **kwargs)


def send(test_tenant, message: Message) -> Message:
    with test_tenant.schema():
        return services.send_queued_sms(message_id=message.pk, tenant_id=test_tenant.tenant.pk)


def test_queueing_to_a_customer_writes_the_message_and_its_send_job(sender):
    with sender.schema():
        customer = CustomerFactory(phone="+12025550111")

    message = queue(sender, customer_id=customer.pk, body="Running 10 minutes late")

    assert (message.direction, message.status, message.from_number, message.to_number) == (
        "outbound",
        "queued",
        SENDER,
        "+12025550111",
    )
    assert message.customer_id == customer.pk
    job = OutboxMessage.objects.get(actor_name="send_sms", kwargs__message_id=message.pk)
    assert job.schema_name == sender.tenant.schema_name
    assert job.kwargs["tenant_id"] == sender.tenant.pk


def test_a_national_number_is_normalised_and_matched_to_its_customer(sender):
    with sender.schema():
        customer = CustomerFactory(phone="+12025550111")

    message = queue(sender, to="(202) 555-0111", body="Hello")

    assert (message.to_number, message.customer_id) == ("+12025550111", customer.pk)


def test_nothing_is_queued_for_an_opted_out_number(sender):
    with sender.schema():
        CustomerFactory(phone="+12025550111", sms_opt_out=True)

    with pytest.raises(Conflict) as refused:
        queue(sender, to="+12025550111", body="Hello")

    assert refused.value.code == "recipient_opted_out"
    with sender.schema():
        assert Message.objects.count() == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"to": "+12025550111", "body": "x" * 1601}, "body"),
        ({"to": "+12025550111", "body": "   "}, "body"),
        ({"body": "Hello"}, "to"),
        ({"to": "+12025550111", "customer_id": 1, "body": "Hello"}, "to"),
        ({"to": "12", "body": "Hello"}, "phone"),
    ],
)
def test_bad_messages_are_refused(sender, kwargs, field):
    with pytest.raises(ValidationFailed) as refused:
        queue(sender, **kwargs)

    assert refused.value.details[0]["field"] == field


def test_a_customer_without_phone_or_unknown_is_refused(sender):
    with sender.schema():
        no_phone = CustomerFactory(phone="")

    with pytest.raises(ValidationFailed):
        queue(sender, customer_id=no_phone.pk, body="Hello")
    with pytest.raises(NotFound):
        queue(sender, customer_id=999999, body="Hello")


def test_no_sender_number_is_409(tenant_a):
    with pytest.raises(Conflict) as refused:
        queue(tenant_a, to="+12025550111", body="Hello")

    assert refused.value.code == "sms_sender_missing"


def test_sending_hands_the_message_to_twilio_once_and_claims_its_sid(sender, sandbox):
    message = queue(sender, to="+12025550111", body="See you at 9")

    sent = send(sender, message)
    again = send(sender, message)

    [accepted] = sandbox.messages.values()
    assert (accepted["to"], accepted["from"], accepted["body"]) == ("+12025550111", SENDER, "See you at 9")
    # Twilio's "queued" ranks below our "sending": the message stays sending until "sent".
    assert (sent.provider_sid, sent.status) == (accepted["sid"], "sending")
    assert again.provider_sid == sent.provider_sid
    route = ProviderRoute.objects.get(provider="twilio", external_id=sent.provider_sid)
    assert (route.kind, route.tenant_id) == ("sms_message", sender.tenant.pk)


@pytest.mark.parametrize(("number", "code"), [("+15005550001", 21211), ("+15005550009", 21614)])
def test_twilios_refusal_fails_the_message_with_its_code(sender, sandbox, number, code):
    message = queue(sender, to=number, body="Hello")

    failed = send(sender, message)

    assert (failed.status, failed.error_code, failed.provider_sid) == ("failed", code, None)


def test_21610_from_twilio_opts_the_number_out(sender, sandbox):
    with sender.schema():
        customer = CustomerFactory(phone="+15005550004")
    message = queue(sender, customer_id=customer.pk, body="Hello")

    send(sender, message)

    with sender.schema():
        assert Customer.objects.get(pk=customer.pk).sms_opt_out is True


def test_a_send_whose_outcome_is_unknown_stays_sending_and_is_never_retried(sender, settings):
    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_SANDBOX_URL = "http://127.0.0.1:9"  # nothing listens: the call fails
    message = queue(sender, to="+12025550111", body="Hello")

    with pytest.raises(gateway.TwilioUnreachable):
        send(sender, message)
    again = send(sender, message)

    assert again.status == "sending"
    assert again.provider_sid is None
