import base64
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests
from django.core.wsgi import get_wsgi_application
from dramatiq import Worker

from shared_apps.outbox.models import OutboxMessage
from shared_apps.webhooks import services as webhook_services
from shared_apps.webhooks.models import WebhookEvent
from tasks import actors  # noqa: F401 - registers the actors the relay publishes to
from tasks.broker import broker
from tasks.outbox import relay_outbox
from tenant_apps.sms.gateway import SANDBOX_ACCOUNT_SID, status_callback_url
from tenant_apps.sms.models import Message
from tests.factories import CustomerFactory
from tests.tenant_apps.sms.sandbox import running_sandbox


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture
def live_api(committed_tenant, settings):
    """This project's WSGI app on a free loopback port, as the public base URL."""
    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.PUBLIC_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    yield
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


FINAL = {Message.Status.DELIVERED, Message.Status.UNDELIVERED, Message.Status.FAILED}


@pytest.mark.concurrency
@pytest.mark.parametrize(
    ("phone", "final", "error_code", "callbacks"),
    [
        ("+12025550611", Message.Status.DELIVERED, None, ["delivered", "sent"]),
        ("+15005553003", Message.Status.UNDELIVERED, 30003, ["sent", "undelivered"]),
        ("+15005553007", Message.Status.FAILED, 30007, ["failed"]),
    ],
)
def test_a_text_sent_through_the_sandbox_ends_with_twilios_final_status(
    committed_tenant, live_api, settings, phone, final, error_code, callbacks
):
    settings.TWILIO_ACCOUNT_SID = ""
    committed_tenant.api().patch("/tenants/me", {"sms_sender": "+12025550601"})
    with committed_tenant.schema():
        customer = CustomerFactory(phone=phone)
    OutboxMessage.objects.filter(published_at__isnull=True).delete()

    with running_sandbox(callbacks=True) as (sandbox, sandbox_url):
        settings.TWILIO_SANDBOX_URL = sandbox_url
        response = committed_tenant.api().post("/sms/send", {"customer_id": customer.pk, "body": "See you at 9"})
        broker.flush_all()
        worker = Worker(broker, worker_timeout=100, worker_threads=1)
        worker.start()
        status = None
        try:
            deadline = time.monotonic() + 20
            while status not in FINAL and time.monotonic() < deadline:
                relay_outbox()
                broker.join("default", timeout=10_000)
                worker.join()
                with committed_tenant.schema():
                    status = Message.objects.get(pk=response.json()["id"]).status
                time.sleep(0.05)
        finally:
            worker.stop()

    with committed_tenant.schema():
        message = Message.objects.get(pk=response.json()["id"])
    events = list(WebhookEvent.objects.filter(dedupe_key__startswith=message.provider_sid or "-"))
    OutboxMessage.objects.filter(actor_name__in=["send_sms", "process_webhook_event"]).delete()
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert (message.status, message.error_code) == (final, error_code)
    assert [sent["body"] for sent in sandbox.messages.values()] == ["See you at 9"]
    assert message.provider_sid in sandbox.messages
    assert sorted(event.dedupe_key.split(":")[1] for event in events) == callbacks
    assert {event.status for event in events} == {WebhookEvent.Status.PROCESSED}


def process_webhook_jobs() -> None:
    """What the worker does with the relayed webhook jobs (the worker path is tested above)."""
    for job in OutboxMessage.objects.filter(actor_name="process_webhook_event", published_at__isnull=True):
        webhook_services.process_webhook_event(event_id=job.kwargs["event_id"])
        job.delete()


@pytest.mark.concurrency
def test_an_mms_the_sandbox_posts_reaches_the_business_with_media_twilios_credentials_fetch(
    committed_tenant, live_api, settings
):
    settings.TWILIO_ACCOUNT_SID = ""
    sender = "+12025550602"
    committed_tenant.api().patch("/tenants/me", {"sms_sender": sender})
    with committed_tenant.schema():
        customer = CustomerFactory(phone="+12025550612")
    photo = b"\xff\xd8\xff the broken boiler"
    sandbox_options = {"auth_token": settings.TWILIO_AUTH_TOKEN, "account_sid": SANDBOX_ACCOUNT_SID}

    with running_sandbox(callbacks=False, inbound_url=status_callback_url(), **sandbox_options) as (_, sandbox_url):
        answer = requests.post(
            f"{sandbox_url}/sandbox/inbound",
            json={
                "from": customer.phone,
                "to": sender,
                "body": "",
                "media": [{"content_type": "image/jpeg", "content_base64": base64.b64encode(photo).decode()}],
            },
            timeout=20,
        )
        process_webhook_jobs()
        items = committed_tenant.api().get("/sms/messages", customer_id=customer.pk).json()["items"]
        [media] = items[0]["media"] if items else [None]
        fetched = requests.get(media["url"], auth=(SANDBOX_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN), timeout=5)

    assert (answer.status_code, answer.json()["webhook_status"]) == (200, 200)
    assert [(item["direction"], item["body"]) for item in items] == [("inbound", "")]
    assert media["content_type"] == "image/jpeg"
    assert fetched.content == photo


@pytest.mark.concurrency
def test_an_inbound_text_signed_with_another_token_is_refused_by_our_webhook(committed_tenant, live_api, settings):
    committed_tenant.api().patch("/tenants/me", {"sms_sender": "+12025550603"})
    sandbox_options = {"auth_token": "not-our-token", "account_sid": SANDBOX_ACCOUNT_SID}

    with running_sandbox(callbacks=False, inbound_url=status_callback_url(), **sandbox_options) as (_, sandbox_url):
        answer = requests.post(
            f"{sandbox_url}/sandbox/inbound",
            json={"from": "+12025550613", "to": "+12025550603", "body": "Hi"},
            timeout=20,
        )

    assert answer.json()["webhook_status"] == 403
    assert not WebhookEvent.objects.filter(dedupe_key=answer.json()["sid"]).exists()
