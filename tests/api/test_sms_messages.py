import pytest
from django.utils import timezone

from shared_apps.outbox.models import OutboxMessage
from shared_apps.webhooks import services as webhook_services
from shared_apps.webhooks.models import WebhookEvent
from tenant_apps.customers.models import Customer
from tenant_apps.sms.models import Message
from tests.api.generic import ListTests
from tests.api.test_sms_webhook import NUMBER_A, inbound, numbers, post, sign, status_callback  # noqa: F401
from tests.factories import CustomerFactory
from tests.isolation import Route, assert_refused
from tests.tenant_apps.sms.factories import OutboundMessageFactory


def run_webhook_jobs() -> int:
    """What the worker does with the relayed outbox rows (the worker path itself is tested in
    tests/shared_apps/webhooks)."""
    jobs = list(OutboxMessage.objects.filter(actor_name="process_webhook_event", published_at__isnull=True))
    for job in jobs:
        webhook_services.process_webhook_event(event_id=job.kwargs["event_id"])
        job.published_at = timezone.now()
        job.save(update_fields=["published_at"])
    return len(jobs)


def deliver(params: dict[str, str]) -> None:
    assert post(params, signature=sign(params)).status_code == 200


class TestSmsAPI(ListTests):
    # Its item schema has more than columns (nested rows, computed values): Ninja's path.
    list_from_values = False
    path = "/sms/messages"
    routes = [Route("GET", "/sms/messages"), Route("POST", "/sms/send", {"to": "+12025550111", "body": "Hi"})]

    def make_objects(self, owner, count):
        with owner.schema():
            return [message.pk for message in OutboundMessageFactory.create_batch(count)]


def test_send_answers_202_queued_and_refuses_an_opted_out_number(tenant_a):
    tenant_a.api().patch("/tenants/me", {"sms_sender": "+12025550100"})
    with tenant_a.schema():
        CustomerFactory(phone="+12025550199", sms_opt_out=True)

    queued = tenant_a.api(as_staff=True).post("/sms/send", {"to": "+12025550111", "body": "Hi"})
    opted_out = tenant_a.api().post("/sms/send", {"to": "+12025550199", "body": "Hi"})
    too_long = tenant_a.api().post("/sms/send", {"to": "+12025550111", "body": "x" * 1601})

    assert queued.status_code == 202
    assert queued.json()["status"] == "queued"
    assert assert_refused(opted_out, 409)["errors"][0]["code"] == "recipient_opted_out"
    assert assert_refused(too_long, 400)["errors"][0]["field"] == "body"


def test_messages_list_both_directions_with_from_and_to(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory(phone="+12025550111")
        OutboundMessageFactory(to_number=customer.phone, customer=customer, body="On our way")

    response = tenant_a.api(as_staff=True).get("/sms/messages")

    assert response.status_code == 200
    [item] = response.json()["items"]
    assert item["from"] == "+12025550100"
    assert item["to"] == "+12025550111"
    assert item["customer_id"] == customer.pk
    assert {"id", "direction", "body", "status", "error_code", "segments", "created_at"} <= set(item)


def test_messages_filter_by_customer_and_direction(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory()
        mine = OutboundMessageFactory(customer=customer)
        OutboundMessageFactory()

    by_customer = tenant_a.api().get("/sms/messages", customer_id=customer.pk).json()["items"]
    inbound_only = tenant_a.api().get("/sms/messages", direction="inbound").json()

    assert [item["id"] for item in by_customer] == [mine.pk]
    assert inbound_only["count"] == 0
    assert tenant_a.api().get("/sms/messages", direction="sideways").status_code == 400


def test_a_text_to_tenant_as_number_never_reaches_tenant_b_whatever_from_says(numbers, tenant_a, tenant_b):  # noqa: F811
    with tenant_b.schema():
        b_customer = CustomerFactory(phone="+12025550222")

    deliver(inbound("SM-cross", to=NUMBER_A, sender=b_customer.phone) | {"Body": "STOP"})
    run_webhook_jobs()

    with tenant_a.schema():
        in_a = list(Message.objects.values_list("provider_sid", "customer_id"))
    with tenant_b.schema():
        in_b = Message.objects.count()
        b_opted_out = Customer.objects.get(pk=b_customer.pk).sms_opt_out
    assert in_a == [("SM-cross", None)]
    assert in_b == 0
    assert b_opted_out is False
    unassigned = tenant_a.api().get("/sms/messages", direction="inbound").json()["items"]
    assert [(item["body"], item["customer_id"]) for item in unassigned] == [("STOP", None)]


def test_one_message_delivered_five_times_is_one_message_and_one_history_entry(numbers, tenant_a):  # noqa: F811
    with tenant_a.schema():
        customer = CustomerFactory(phone="+12025550111")
    params = inbound("SM-five", sender=customer.phone)

    for _ in range(5):
        deliver(params)
    jobs = run_webhook_jobs()

    history = tenant_a.api().get(f"/customers/{customer.pk}/history").json()["items"]
    with tenant_a.schema():
        messages = Message.objects.count()
    assert jobs == 1
    assert messages == 1
    assert [entry["kind"] for entry in history] == ["sms"]


def test_status_callbacks_in_reverse_order_end_with_the_final_status(numbers, tenant_a):  # noqa: F811
    with tenant_a.schema():
        sent = OutboundMessageFactory(from_number=NUMBER_A)

    for twilio_status in ("delivered", "sent", "sending", "queued"):
        deliver(status_callback(sent.provider_sid, twilio_status, sender=NUMBER_A))
    run_webhook_jobs()

    with tenant_a.schema():
        sent.refresh_from_db()
    assert sent.status == Message.Status.DELIVERED


def test_an_undelivered_callback_stores_twilios_error_code(numbers, tenant_a):  # noqa: F811
    with tenant_a.schema():
        sent = OutboundMessageFactory(from_number=NUMBER_A)

    deliver(status_callback(sent.provider_sid, "undelivered", sender=NUMBER_A) | {"ErrorCode": "30003"})
    run_webhook_jobs()

    item = tenant_a.api().get("/sms/messages").json()["items"][0]
    assert (item["status"], item["error_code"]) == ("undelivered", 30003)


def test_a_callback_that_beats_the_stored_sid_fails_and_succeeds_once_the_sid_is_stored(numbers, tenant_a):  # noqa: F811
    sid = "SM00000000000000000000000000early"
    deliver(status_callback(sid, "delivered", sender=NUMBER_A))

    with pytest.raises(LookupError):
        run_webhook_jobs()
    event = WebhookEvent.objects.get(provider="twilio", dedupe_key=f"{sid}:delivered")
    with tenant_a.schema():
        sent = OutboundMessageFactory(from_number=NUMBER_A, provider_sid=sid, status=Message.Status.SENDING)
    webhook_services.replay_webhook_event(event_id=event.pk)

    event.refresh_from_db()
    with tenant_a.schema():
        sent.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert sent.status == Message.Status.DELIVERED


ACCOUNT = "AC00000000000000000000000000000000"


def media_url(message_sid: str, media_sid: str) -> str:
    """Where Twilio keeps an inbound MMS's media (its Media subresource; fetching needs auth)."""
    return f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/{message_sid}/Media/{media_sid}"


def inbound_mms(sid: str, *, sender: str, body: str, media: list[tuple[str, str]]) -> dict[str, str]:
    """Twilio's inbound-message webhook for an MMS: NumMedia, then MediaUrl{N} and
    MediaContentType{N} from 0, as its webhook-request guide documents them."""
    params = inbound(sid, sender=sender) | {"Body": body, "NumMedia": str(len(media))}
    for index, (url, content_type) in enumerate(media):
        params |= {f"MediaUrl{index}": url, f"MediaContentType{index}": content_type}
    return params


def test_an_inbound_mms_keeps_its_media_in_the_list_and_the_customers_history(numbers, tenant_a):  # noqa: F811
    with tenant_a.schema():
        customer = CustomerFactory(phone="+12025550111")
    sid = "MM00000000000000000000000000000001"
    photo = media_url(sid, "ME00000000000000000000000000000001")
    video = media_url(sid, "ME00000000000000000000000000000002")

    deliver(inbound_mms(sid, sender=customer.phone, body="", media=[(photo, "image/jpeg"), (video, "video/mp4")]))
    deliver(inbound("SM-plain", sender=customer.phone))
    run_webhook_jobs()

    items = tenant_a.api().get("/sms/messages", customer_id=customer.pk).json()["items"]
    history = tenant_a.api().get(f"/customers/{customer.pk}/history").json()["items"]
    media = [{"url": photo, "content_type": "image/jpeg"}, {"url": video, "content_type": "video/mp4"}]
    # Until the copy job (tenant_apps/sms/media.py) ran, no item has an attachment or a reason.
    listed = [item | {"attachment_id": None, "not_kept": None} for item in media]
    assert {item["body"]: item["media"] for item in items} == {"": listed, "Hello, can you come on Tuesday?": []}
    mms_entry = next(entry for entry in history if entry["data"]["media"])
    assert mms_entry["data"]["media"] == media
    assert mms_entry["title"] == "MMS: 2 attachments (image, video)"


def test_an_inbound_mms_with_words_keeps_both(numbers, tenant_a):  # noqa: F811
    sid = "MM00000000000000000000000000000002"
    photo = media_url(sid, "ME00000000000000000000000000000003")

    deliver(inbound_mms(sid, sender="+12025550112", body="The leak is here", media=[(photo, "image/png")]))
    run_webhook_jobs()

    [item] = tenant_a.api().get("/sms/messages", direction="inbound").json()["items"]
    assert (item["body"], item["media"]) == (
        "The leak is here",
        [{"url": photo, "content_type": "image/png", "attachment_id": None, "not_kept": None}],
    )
