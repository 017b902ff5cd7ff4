"""End to end without Vapi: our httpx client against deploy/vapi_sandbox.py, the sandbox's
webhooks against our WSGI app on a loopback port, and the scripted inbound call command."""

import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from shared_apps.outbox.models import OutboxMessage
from shared_apps.webhooks import services as webhook_services
from shared_apps.webhooks.models import WebhookEvent
from tenant_apps.appointments.models import Appointment
from tenant_apps.voice import services
from tenant_apps.voice.models import Call
from tests.factories import CustomerFactory
from tests.tenant_apps.sms.test_sandbox_loop import live_api  # noqa: F401 - fixture
from tests.tenant_apps.voice.conftest import set_up_voice
from tests.tenant_apps.voice.sandbox import running_vapi_sandbox


def run_webhook_jobs() -> None:
    connection.set_schema_to_public()
    jobs = OutboxMessage.objects.filter(actor_name="process_webhook_event", published_at__isnull=True)
    for job in list(jobs):
        webhook_services.process_webhook_event(event_id=job.kwargs["event_id"])
    jobs.delete()


def wait_for_events(count: int) -> None:
    deadline = time.monotonic() + 20
    while WebhookEvent.objects.filter(provider="vapi").count() < count and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.concurrency
def test_an_outbound_call_through_the_sandbox_ends_with_its_report(committed_tenant, live_api, settings):  # noqa: F811
    settings.VAPI_API_KEY = ""
    set_up_voice(committed_tenant, phone_number_id=f"pn-{committed_tenant.slug}", assistant_id="asst-sandbox")
    with committed_tenant.schema():
        customer = CustomerFactory(phone="+12025550611", name="Ada")

    webhook = f"{settings.PUBLIC_BASE_URL}/api/v1/voice/webhook"
    with running_vapi_sandbox(webhook_url=webhook, secret=settings.VAPI_WEBHOOK_SECRET) as (sandbox, url):
        settings.VAPI_SANDBOX_URL = url
        response = committed_tenant.api().post("/voice/call", {"customer_id": customer.pk, "purpose": "Tuesday"})
        with committed_tenant.schema():
            placed = services.place_queued_call(call_id=response.json()["id"], tenant_id=committed_tenant.tenant.pk)
        wait_for_events(4)
    run_webhook_jobs()

    with committed_tenant.schema():
        call = Call.objects.get(pk=placed.pk)
    assert [dialled["customer"]["number"] for dialled in sandbox.calls.values()] == ["+12025550611"]
    assert call.vapi_call_id in sandbox.calls
    assert (call.status, call.ended_reason, call.duration_seconds, call.cost) == ("ended", "customer-ended-call", 42, 6)
    assert call.summary == "Sandbox call about Tuesday."


@pytest.mark.concurrency
def test_the_scripted_inbound_call_books_an_appointment(committed_tenant, live_api, settings):  # noqa: F811
    output = StringIO()

    call_command("play_vapi_call", tenant=committed_tenant.slug, caller="+12025550612", stdout=output)
    run_webhook_jobs()

    with committed_tenant.schema():
        appointment = Appointment.objects.select_related("customer").get()
        call = Call.objects.get()
    assert appointment.customer.phone == "+12025550612"
    assert appointment.staff_id is not None
    assert f"appointment {appointment.pk}" in output.getvalue()
    assert "[assistant] Thank you for calling" in output.getvalue()
    assert (call.direction, call.status, call.customer_id) == ("inbound", "ended", appointment.customer_id)
    assert call.summary.startswith("Sandbox Caller booked: Booked for")
