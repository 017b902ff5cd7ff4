import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.core.wsgi import get_wsgi_application
from dramatiq import Worker

from shared_apps.outbox.models import OutboxMessage
from shared_apps.webhooks.models import WebhookEvent
from tasks import actors  # noqa: F401 - registers the actors the relay publishes to
from tasks.broker import broker
from tasks.outbox import relay_outbox
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


@pytest.mark.concurrency
def test_a_text_sent_through_the_sandbox_ends_delivered(committed_tenant, live_api, settings):
    settings.TWILIO_ACCOUNT_SID = ""
    committed_tenant.api().patch("/tenants/me", {"sms_sender": "+12025550601"})
    with committed_tenant.schema():
        customer = CustomerFactory(phone="+12025550611")
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
            while status != Message.Status.DELIVERED and time.monotonic() < deadline:
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
    assert message.status == Message.Status.DELIVERED
    assert [sent["body"] for sent in sandbox.messages.values()] == ["See you at 9"]
    assert message.provider_sid in sandbox.messages
    assert sorted(event.dedupe_key.split(":")[1] for event in events) == ["delivered", "sent"]
    assert {event.status for event in events} == {WebhookEvent.Status.PROCESSED}
