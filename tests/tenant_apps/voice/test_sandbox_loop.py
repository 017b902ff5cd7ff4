"""End to end without Vapi: our httpx client against devtools/vapi_sandbox.py, the sandbox's
webhooks against our WSGI app on a loopback port, and the scripted inbound call command."""

import json
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from devtools.sandbox_server import serve_sandbox
from shared_apps.outbox.models import OutboxMessage
from shared_apps.webhooks import services as webhook_services
from shared_apps.webhooks.models import WebhookEvent
from tenant_apps.appointments.models import Appointment
from tenant_apps.voice import gateway, services
from tenant_apps.voice.management.commands.play_vapi_call import SHAPES
from tenant_apps.voice.models import Call
from tests.factories import CustomerFactory
from tests.servers import serving_in_thread
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
@pytest.mark.parametrize("credential_id", ["cred-sandbox", ""], ids=["credential", "headers"])
def test_an_outbound_call_through_the_sandbox_ends_with_its_report(
    credential_id,
    committed_tenant,
    live_api,  # noqa: F811
    settings,
):
    # The sandbox posts to the server our POST /call names, authenticated as that server says.
    settings.VAPI_API_KEY = ""
    settings.VAPI_SERVER_CREDENTIAL_ID = credential_id
    set_up_voice(committed_tenant, phone_number_id=f"pn-{committed_tenant.slug}", assistant_id="asst-sandbox")
    with committed_tenant.schema():
        customer = CustomerFactory(phone="+12025550611", name="Ada")

    credentials = {"cred-sandbox": settings.VAPI_WEBHOOK_SECRET}
    with running_vapi_sandbox(credentials=credentials) as (sandbox, url):
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
def test_a_call_naming_no_server_gets_no_messages_and_vapis_limits_hold(settings):
    settings.VAPI_API_KEY = ""
    received = []
    with serving_in_thread(recording_server(received)) as webhook, running_vapi_sandbox() as (sandbox, url):
        settings.VAPI_SANDBOX_URL = url
        silent = dial(server={})
        heard = dial(server={"url": webhook, "headers": {"X-Vapi-Secret": "s3cret"}})
        refused = [
            refusal(name="x" * 41),
            refusal(customer_name="y" * 41),
            refusal(number="12025550111"),
            refusal(number="+1 202 555 0111"),
        ]
        deadline = time.monotonic() + 10
        while len(received) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # what a silent call would have sent by now

    assert {message["call"]["id"] for message, _ in received} == {heard["id"]}
    assert silent["id"] in sandbox.calls
    assert all(headers["X-Vapi-Secret"] == "s3cret" for _, headers in received)
    assert refused == [400, 400, 400, 400]


def dial(*, server, name="sandbox-call", customer_name="", number="+12025550111"):
    return gateway.create_call(
        assistant_id="asst",
        phone_number_id="pn",
        number=number,
        customer_name=customer_name,
        name=name,
        metadata={},
        variable_values={},
        server=server,
        server_messages=["status-update", "end-of-call-report"],
    )


def refusal(**fields) -> int:
    # gateway.create_call cuts names to 40 characters itself: the sandbox is asked directly.
    body = {"assistantId": "asst", "phoneNumberId": "pn", "customer": {"number": fields.get("number", "+12025550111")}}
    if "name" in fields:
        body["name"] = fields["name"]
    if "customer_name" in fields:
        body["customer"]["name"] = fields["customer_name"]
    with gateway.vapi_http_client() as client:
        return client.post("/call", json=body).status_code


def recording_server(received: list):
    """A loopback webhook that keeps each message and its headers."""

    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        message = json.loads(environ["wsgi.input"].read(length))["message"]
        headers = {"X-Vapi-Secret": environ.get("HTTP_X_VAPI_SECRET", "")}
        received.append((message, headers))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    return serve_sandbox(app, name="webhook", port=0)


@pytest.mark.concurrency
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_scripted_inbound_call_books_an_appointment(shape, committed_tenant, live_api, settings):  # noqa: F811
    output = StringIO()

    call_command("play_vapi_call", tenant=committed_tenant.slug, caller="+12025550612", shape=shape, stdout=output)
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
