from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from dramatiq import Worker
from twilio.request_validator import RequestValidator

from shared_apps.outbox.models import OutboxMessage
from shared_apps.webhooks.models import WebhookEvent
from tasks import actors
from tasks.broker import broker
from tasks.outbox import relay_outbox
from tenant_apps.customers.models import Customer
from tenant_apps.sms.models import Message
from tests.api.test_tenant_sms_sender import rival_tenant  # noqa: F401 - fixture
from tests.factories import CustomerFactory

URL = f"http://{settings.BASE_DOMAIN}/api/v1/sms/webhook"
SAME_PHONE = "+12025550111"


def deliver_inbound(sid: str, to: str, body: str) -> None:
    params = {"MessageSid": sid, "From": SAME_PHONE, "To": to, "Body": body}
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(URL, params)
    response = Client().post(
        "/api/v1/sms/webhook",
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_HOST=settings.BASE_DOMAIN,
        HTTP_X_TWILIO_SIGNATURE=signature,
    )
    assert response.status_code == 200


@pytest.mark.concurrency
def test_two_tenants_jobs_interleaved_in_one_worker_touch_only_their_own_rows(
    committed_tenant,
    rival_tenant,  # noqa: F811
):
    tenants = {"A": (committed_tenant, "+12025550401"), "B": (rival_tenant, "+12025550402")}
    customers = {}
    for key, (test_tenant, number) in tenants.items():
        test_tenant.api().patch("/tenants/me", {"sms_sender": number})
        with test_tenant.schema():
            customers[key] = CustomerFactory(phone=SAME_PHONE).pk
    OutboxMessage.objects.filter(published_at__isnull=True).delete()
    interleaved = [("SM-A1", "A", "STOP"), ("SM-B1", "B", "hello B"), ("SM-A2", "A", "hi A"), ("SM-B2", "B", "?")]
    for sid, key, body in interleaved:
        deliver_inbound(sid, tenants[key][1], body)

    broker.flush_all()
    worker = Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        relay_outbox()
        broker.join(actors.process_webhook_event.queue_name, timeout=20_000)
        worker.join()
    finally:
        worker.stop()

    seen = {}
    for key, (test_tenant, _) in tenants.items():
        with test_tenant.schema():
            seen[key] = (
                sorted(Message.objects.values_list("provider_sid", "customer_id")),
                Customer.objects.get(pk=customers[key]).sms_opt_out,
            )
    events = WebhookEvent.objects.filter(dedupe_key__in=[sid for sid, _, _ in interleaved])
    statuses = set(events.values_list("status", flat=True))
    OutboxMessage.objects.filter(actor_name="process_webhook_event").delete()
    assert statuses == {WebhookEvent.Status.PROCESSED}
    assert seen["A"] == ([("SM-A1", customers["A"]), ("SM-A2", customers["A"])], True)
    assert seen["B"] == ([("SM-B1", customers["B"]), ("SM-B2", customers["B"])], False)
