import pytest

from tenant_apps.customers.history import customer_history
from tenant_apps.customers.models import Customer
from tenant_apps.customers.services import delete_customer
from tenant_apps.sms import services
from tenant_apps.sms.models import Message
from tests.factories import CustomerFactory
from tests.tenant_apps.sms.factories import OutboundMessageFactory

OUR_NUMBER = "+12025550100"


def receive(sid: str, body: str, sender: str = "+12025550111", *, tenant=None, **extra) -> Message:
    return services.receive_inbound_message(
        tenant=tenant, provider_sid=sid, from_number=sender, to_number=OUR_NUMBER, body=body, **extra
    )


def test_an_inbound_text_is_matched_to_the_customer_with_that_number(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory(phone="+12025550111")
        message = receive("SM1", "Can you come at 3?")

    assert message.customer_id == customer.pk
    assert (message.direction, message.status) == ("inbound", "received")
    assert (message.segments, message.encoding) == (1, "gsm7")


def test_an_inbound_text_from_an_unknown_number_is_kept_unassigned(tenant_a):
    with tenant_a.schema():
        CustomerFactory(phone="+12025550111")
        message = receive("SM1", "Who is this?", sender="+12025550999")
        stored = list(Message.objects.values_list("provider_sid", "customer_id"))

    assert message.customer_id is None
    assert stored == [("SM1", None)]


def test_the_same_message_sid_is_kept_once(tenant_a):
    with tenant_a.schema():
        first = receive("SM1", "hello")
        again = receive("SM1", "hello")
        count = Message.objects.count()

    assert again.pk == first.pk
    assert count == 1


@pytest.mark.parametrize("body", ["STOP", " stop ", "Unsubscribe", "cancel", "END", "quit", "STOPALL"])
def test_opt_out_keywords_opt_the_number_out(tenant_a, body):
    with tenant_a.schema():
        customer = CustomerFactory(phone="+12025550111")
        receive("SM1", body)
        customer.refresh_from_db()

    assert customer.sms_opt_out is True
    assert customer.version == 2


def test_start_opts_back_in_and_a_sentence_is_not_a_keyword(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory(phone="+12025550111", sms_opt_out=True)
        receive("SM1", "Please stop by on Monday")
        still_out = Customer.objects.get(pk=customer.pk).sms_opt_out
        receive("SM2", "unstop")
        back_in = Customer.objects.get(pk=customer.pk).sms_opt_out

    assert (still_out, back_in) == (True, False)


def test_twilio_advanced_opt_out_verdict_wins(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory(phone="+12025550111")
        receive("SM1", "Arrêt", opt_out_type="STOP")
        customer.refresh_from_db()

    assert customer.sms_opt_out is True


def test_a_replayed_stop_does_not_undo_a_later_start(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory(phone="+12025550111")
        receive("SM1", "STOP")
        receive("SM2", "START")
        receive("SM1", "STOP")
        customer.refresh_from_db()

    assert customer.sms_opt_out is False


@pytest.mark.parametrize(
    ("callbacks", "final"),
    [
        (["sending", "sent", "delivered"], "delivered"),
        (["delivered", "sent", "sending", "queued"], "delivered"),
        (["sent", "undelivered", "delivered", "sent"], "undelivered"),
        (["failed", "delivered"], "failed"),
        (["sent", "sent"], "sent"),
        (["accepted", "read"], "delivered"),
        (["partially_delivered"], "queued"),
    ],
)
def test_status_moves_only_forward_and_final_states_stick(tenant_a, callbacks, final):
    with tenant_a.schema():
        message = OutboundMessageFactory()
        for twilio_status in callbacks:
            services.apply_status_callback(
                provider_sid=message.provider_sid, twilio_status=twilio_status, error_code=None
            )
        message.refresh_from_db()

    assert message.status == final


def test_the_error_code_is_stored_and_21610_opts_the_recipient_out(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory(phone="+12025552001")
        message = OutboundMessageFactory(to_number=customer.phone)
        services.apply_status_callback(provider_sid=message.provider_sid, twilio_status="failed", error_code=21610)
        message.refresh_from_db()
        customer.refresh_from_db()

    assert (message.status, message.error_code) == ("failed", 21610)
    assert customer.sms_opt_out is True


def test_a_callback_for_a_message_we_never_sent_changes_nothing(tenant_a):
    with tenant_a.schema():
        result = services.apply_status_callback(provider_sid="SM-unknown", twilio_status="delivered", error_code=None)

    assert result is None


def test_texts_are_in_the_customer_history_and_keep_the_customer_archived_not_deleted(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory(phone="+12025550111")
        receive("SM1", "Thanks!")
        entries, _ = customer_history(customer_id=customer.pk, limit=10)
        archived = delete_customer(customer_id=customer.pk)

    assert [(entry.kind, entry.title) for entry in entries] == [("sms", "Thanks!")]
    assert archived is True


@pytest.fixture
def business(tenant_a):
    """Tenant A with a sender number."""
    tenant_a.store_settings(sms_sender=OUR_NUMBER)
    return tenant_a


def test_help_is_answered_once_with_the_business_name(business):
    with business.schema():
        receive("SM1", " help ", tenant=business.tenant)
        receive("SM1", " help ", tenant=business.tenant)  # a replay
        replies = list(Message.objects.filter(direction="outbound").values_list("to_number", "body", "status"))

    assert replies == [("+12025550111", "Alpha Services: reply STOP to stop texts from us.", "queued")]


def test_help_from_an_opted_out_number_is_kept_but_not_answered(business):
    with business.schema():
        CustomerFactory(phone="+12025550111", sms_opt_out=True)
        receive("SM1", "INFO", tenant=business.tenant)
        directions = list(Message.objects.values_list("direction", flat=True))

    assert directions == ["inbound"]


@pytest.mark.parametrize(
    ("num_media", "expected"),
    [
        ("0", []),
        ("", []),  # a plain SMS from an older integration: no NumMedia at all
        ("two", []),
        ("2", [("https://api.twilio.com/m/0", "image/jpeg"), ("https://api.twilio.com/m/1", "image/heic")]),
        ("3", [("https://api.twilio.com/m/0", "image/jpeg"), ("https://api.twilio.com/m/1", "image/heic")]),
    ],
)
def test_inbound_media_reads_twilios_numbered_parameters(num_media, expected):
    params = {
        "NumMedia": num_media,
        "MediaUrl0": "https://api.twilio.com/m/0",
        "MediaContentType0": "image/jpeg",
        "MediaUrl1": "https://api.twilio.com/m/1",
        "MediaContentType1": "image/heic",
    }

    media = services.inbound_media(params)

    assert [(item["url"], item["content_type"]) for item in media] == expected


def test_inbound_media_stops_at_twilios_ten_files():
    params = {"NumMedia": "500"} | {f"MediaUrl{n}": f"https://api.twilio.com/m/{n}" for n in range(12)}

    assert len(services.inbound_media(params)) == services.MAX_MEDIA
