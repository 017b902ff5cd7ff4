import hashlib
import hmac
import json

import pytest
from django.db import connection
from django.test import override_settings
from vapi.types import Artifact

from shared_apps.flags import services as flags
from shared_apps.flags.catalogue import VOICE
from shared_apps.outbox.models import OutboxMessage
from shared_apps.tenants import services as tenant_services
from shared_apps.webhooks import services as webhook_services
from shared_apps.webhooks.models import WebhookEvent
from tenant_apps.appointments.models import Appointment
from tenant_apps.voice import services
from tenant_apps.voice.models import Call, ToolCallResult
from tests.factories import CustomerFactory
from tests.isolation import assert_refused
from tests.tenant_apps.voice.conftest import local, next_business_day
from tests.tenant_apps.voice.factories import CallFactory
from tests.tenant_apps.voice.payloads import (
    ASSISTANT_A,
    CALLER,
    MESSAGE_TYPES,
    PHONE_A,
    PHONE_B,
    message,
    post,
    results,
    stored_events,
    tool_calls,
)
from tests.tenant_apps.voice.vapi_types import assert_vapi_type


def run_webhook_jobs() -> int:
    jobs = list(OutboxMessage.objects.filter(actor_name="process_webhook_event", published_at__isnull=True))
    for job in jobs:
        webhook_services.process_webhook_event(event_id=job.kwargs["event_id"])
        OutboxMessage.objects.filter(pk=job.pk).update(published_at=job.created_at)
    return len(jobs)


# Authentication and storage, for every message type of the corpus


@pytest.mark.parametrize("message_type", MESSAGE_TYPES)
def test_each_message_type_is_stored_once_with_its_raw_body_and_routed(message_type, voice_lines, tenant_a):
    body = message(message_type)
    raw = json.dumps(body).encode()

    first = post(raw)
    again = post(raw)

    assert (first.status_code, again.status_code) == (200, 200)
    [event] = stored_events()
    assert bytes(event.body) == raw
    assert event.tenant_id == tenant_a.tenant.pk
    assert settings_secret_not_in(event)


def settings_secret_not_in(event: WebhookEvent) -> bool:
    from django.conf import settings

    return settings.VAPI_WEBHOOK_SECRET.encode() not in bytes(event.body)


@pytest.mark.parametrize("message_type", MESSAGE_TYPES)
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"secret": "not-the-secret"}, id="wrong secret"),
        pytest.param({"secret": ""}, id="no secret"),
        pytest.param({"secret": "", "headers": {"Authorization": "Bearer not-the-secret"}}, id="wrong bearer"),
    ],
)
def test_a_bad_secret_is_401_and_nothing_is_stored(message_type, headers, voice_lines):
    response = post(message(message_type), **headers)

    assert_refused(response, 401)
    assert stored_events() == []
    assert not OutboxMessage.objects.filter(actor_name="process_webhook_event").exists()


def test_the_secret_is_accepted_as_a_bearer_token(voice_lines):
    from django.conf import settings

    response = post(message("hang"), secret="", headers={"Authorization": f"Bearer {settings.VAPI_WEBHOOK_SECRET}"})

    assert response.status_code == 200
    assert len(stored_events()) == 1


@override_settings(VAPI_WEBHOOK_HMAC=True, VAPI_WEBHOOK_SECRET="hmac-key")
def test_hmac_mode_checks_the_signature_of_timestamp_and_body(voice_lines):
    raw = json.dumps(message("hang")).encode()
    timestamp = "1764126100"
    signature = hmac.new(b"hmac-key", f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()

    tampered = post(raw + b" ", secret="", headers={"X-Timestamp": timestamp, "X-Signature": signature})
    plain_secret = post(raw, secret="hmac-key")
    signed = post(raw, secret="", headers={"X-Timestamp": timestamp, "X-Signature": signature})

    assert_refused(tampered, 401)
    assert_refused(plain_secret, 401)
    assert signed.status_code == 200
    assert len(stored_events()) == 1


def test_a_body_that_is_no_server_message_is_400(voice_lines):
    assert_refused(post(b'{"hello": "world"}'), 400)
    assert stored_events() == []


def test_the_webhook_is_not_served_on_a_tenant_host(tenant_a):
    from django.test import Client

    response = Client().post(
        "/api/v1/voice/webhook", data=message("hang"), content_type="application/json", HTTP_HOST=tenant_a.host
    )

    assert_refused(response, 404)


# assistant-request


def test_assistant_request_answers_the_tenants_receptionist_and_records_the_call(voice_lines, tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory(phone=CALLER)

    response = post(message("assistant-request", call_id="inbound-1"))

    assert response.status_code == 200
    assistant = response.json()["assistant"]
    assert "automated assistant" in assistant["firstMessage"]
    assert "not recorded" in assistant["firstMessage"]
    assert assistant["artifactPlan"] == {"recordingEnabled": False}
    prompt = assistant["model"]["messages"][0]["content"]
    assert tenant_a.tenant.name in prompt
    assert "Monday 09:00-17:00" in prompt and "Saturday closed" in prompt
    assert "Leak repair (60 minutes)" in prompt
    assert {tool["function"]["name"] for tool in assistant["model"]["tools"]} == {
        "find_customer",
        "create_customer",
        "check_availability",
        "book_appointment",
        "reschedule_appointment",
        "cancel_appointment",
    }
    with tenant_a.schema():
        call = Call.objects.get(vapi_call_id="inbound-1")
    assert (call.direction, call.customer_id, call.customer_number) == ("inbound", customer.pk, CALLER)


def test_recording_on_is_said_in_the_greeting(voice_lines, tenant_a):
    tenant_a.api().patch("/tenants/me", {"voice_record_calls": True, "voice_greeting": "Hi, Alpha here."})

    assistant = post(message("assistant-request")).json()["assistant"]

    assert assistant["firstMessage"].startswith("Hi, Alpha here.")
    assert "This call is recorded." in assistant["firstMessage"]
    assert assistant["artifactPlan"] == {"recordingEnabled": True}


def test_an_unknown_number_hears_a_closed_message_and_the_request_is_stored_unrouted(voice_lines):
    response = post(message("assistant-request", phone_number_id="pn-nobody"))

    assert response.status_code == 200
    assert "cannot take calls" in response.json()["error"]
    [event] = stored_events()
    assert event.status == WebhookEvent.Status.UNROUTED


def test_a_suspended_business_answers_a_polite_closed_message(voice_lines, tenant_a):
    connection.set_schema_to_public()
    tenant_services.set_tenant_status(tenant_id=tenant_a.tenant.pk, status="suspended")

    answer = post(message("assistant-request")).json()
    booking = post(tool_calls(("t-1", "book_appointment", {"starts_at": "2030-01-07T10:00"})))

    assert answer == {
        "error": f"Sorry, {tenant_a.tenant.name} cannot take calls right now. Please try again later. Goodbye."
    }
    assert "error" in booking.json()["results"][0]
    with tenant_a.schema():
        assert not Appointment.objects.exists()


def test_a_business_with_calls_switched_off_answers_the_closed_message(voice_lines, tenant_a):
    flags.set_tenant_flag(tenant_id=tenant_a.tenant.pk, name=VOICE, enabled=False)

    answer = post(message("assistant-request")).json()
    booking = post(tool_calls(("t-1", "book_appointment", {"starts_at": "2030-01-07T10:00"})))

    assert answer == {
        "error": f"Sorry, {tenant_a.tenant.name} cannot take calls right now. Please try again later. Goodbye."
    }
    assert "error" in booking.json()["results"][0]
    with tenant_a.schema():
        assert not Appointment.objects.exists()


# tool-calls


def test_check_availability_answers_words_and_iso_times(voice_lines, tenant_a):
    day = next_business_day(tenant_a.tenant.zone)

    answer = results(
        post(tool_calls(("t-avail", "check_availability", {"date": day.isoformat(), "duration_minutes": 60})))
    )["t-avail"]

    assert answer["slots"][0] == local(day, 9, tenant_a.tenant.zone).isoformat()
    assert answer["spoken"][0] == f"Monday {day.day} {day:%B} at 9:00 AM"
    assert answer["message"].startswith("Free times: ")


def test_book_appointment_books_through_the_services_with_a_staff_member(voice_lines, tenant_a):
    day = next_business_day(tenant_a.tenant.zone)
    starts = local(day, 10, tenant_a.tenant.zone)

    answer = results(
        post(
            tool_calls(
                (
                    "t-book",
                    "book_appointment",
                    {"starts_at": f"{day.isoformat()}T10:00", "duration_minutes": 60, "name": "Ada"},
                )
            )
        )
    )["t-book"]

    assert answer["booked"] is True
    with tenant_a.schema():
        appointment = Appointment.objects.get()
        assert answer["appointment_id"] == appointment.pk
        assert appointment.starts_at == starts
        assert appointment.staff_id is not None
        assert (appointment.customer.name, appointment.customer.phone) == ("Ada", CALLER)


def test_the_same_tool_call_delivered_twice_books_once_and_answers_the_same(voice_lines, tenant_a):
    day = next_business_day(tenant_a.tenant.zone)
    body = tool_calls(
        ("t-twice", "book_appointment", {"starts_at": f"{day.isoformat()}T11:00", "duration_minutes": 30})
    )

    first = post(body)
    second = post(body)
    run_webhook_jobs()  # the stored event's job (a replay) runs the tools again

    assert results(first) == results(second)
    with tenant_a.schema():
        assert Appointment.objects.count() == 1
        assert ToolCallResult.objects.filter(tool_call_id="t-twice").count() == 1


def test_a_taken_slot_answers_the_next_free_slots(voice_lines, tenant_a):
    day = next_business_day(tenant_a.tenant.zone)
    args = {"starts_at": f"{day.isoformat()}T09:00", "duration_minutes": 60}
    results(post(tool_calls(("t-1", "book_appointment", args), caller="+12025550144")))
    results(post(tool_calls(("t-2", "book_appointment", args), caller="+12025550145")))

    third = results(post(tool_calls(("t-3", "book_appointment", args))))["t-3"]

    assert third["booked"] is False
    assert third["reason"] == "slot_taken"
    assert third["slots"][0] == local(day, 10, tenant_a.tenant.zone).isoformat()
    assert "The next free times are: Monday" in third["message"]
    with tenant_a.schema():
        assert Appointment.objects.count() == 2


def test_reschedule_and_cancel_act_on_the_callers_own_next_appointment(voice_lines, tenant_a):
    day = next_business_day(tenant_a.tenant.zone)
    zone = tenant_a.tenant.zone
    booked = results(
        post(tool_calls(("b", "book_appointment", {"starts_at": f"{day}T09:00", "duration_minutes": 60})))
    )["b"]
    other = results(
        post(
            tool_calls(
                ("o", "book_appointment", {"starts_at": f"{day}T13:00", "duration_minutes": 60}), caller="+12025550199"
            )
        )
    )["o"]

    stranger = results(post(tool_calls(("x", "cancel_appointment", {"appointment_id": other["appointment_id"]}))))["x"]
    moved = results(post(tool_calls(("m", "reschedule_appointment", {"starts_at": f"{day}T15:00"}))))["m"]
    cancelled = results(post(tool_calls(("c", "cancel_appointment", {"reason": "Fixed it myself"}))))["c"]

    assert "could not find" in stranger["error"]
    assert moved["appointment_id"] == booked["appointment_id"]
    assert moved["starts_at"] == local(day, 15, zone).isoformat()
    assert cancelled == {**cancelled, "cancelled": True, "appointment_id": booked["appointment_id"]}
    with tenant_a.schema():
        mine = Appointment.objects.get(pk=booked["appointment_id"])
        assert (mine.status, mine.cancel_reason) == ("CANCELLED", "Fixed it myself")
        assert Appointment.objects.get(pk=other["appointment_id"]).status == "SCHEDULED"


def test_find_and_create_customer(voice_lines, tenant_a):
    unknown = results(post(tool_calls(("f1", "find_customer", {}))))["f1"]
    created = results(post(tool_calls(("c1", "create_customer", {"name": "Grace"}))))["c1"]
    found = results(post(tool_calls(("f2", "find_customer", {}))))["f2"]

    assert unknown["found"] is False
    assert found == {"found": True, "customer_id": created["customer_id"], "name": "Grace"}


def web_call(body: dict) -> dict:
    """`body` as a web call: no number at all."""
    body["message"]["call"]["type"] = "webCall"
    body["message"]["call"].pop("customer")
    body["message"].pop("customer")
    return body


def test_a_caller_finds_only_the_customer_with_their_own_number(voice_lines, tenant_a):
    day = next_business_day(tenant_a.tenant.zone)
    with tenant_a.schema():
        CustomerFactory(phone="+12025550177", name="Someone Else")
    results(post(tool_calls(("b", "book_appointment", {"starts_at": f"{day}T09:00"}), caller="+12025550177")))

    by_phone = post(tool_calls(("f1", "find_customer", {"phone": "+12025550177"}))).json()
    local_form = post(tool_calls(("f2", "find_customer", {"phone": "(202) 555-0177"}))).json()
    from_web = post(web_call(tool_calls(("f3", "find_customer", {"phone": "+12025550177"})))).json()
    web_without = post(web_call(tool_calls(("f4", "find_customer", {})))).json()
    created = post(tool_calls(("c1", "create_customer", {"name": "Mallory", "phone": "+12025550177"}))).json()
    own = results(post(tool_calls(("f5", "find_customer", {"phone": "+12025550177"}), caller="+12025550177")))

    for answer in (by_phone, local_form, from_web, web_without, created):
        assert "Someone Else" not in json.dumps(answer)
        assert "error" in answer["results"][0] and "result" not in answer["results"][0]
    assert own["f5"]["name"] == "Someone Else" and "next_appointment" in own["f5"]


def test_bad_tool_arguments_answer_an_error_the_assistant_can_say(voice_lines):
    answers = results(
        post(
            tool_calls(
                ("a", "check_availability", {"date": "next tuesday", "duration_minutes": 60}),
                ("b", "book_appointment", {"starts_at": "soon"}),
                ("c", "open_the_safe", {}),
            )
        )
    )

    assert answers["a"] == {"error": "date must be YYYY-MM-DD."}
    assert "ISO 8601" in answers["b"]["error"]
    assert "no tool called" in answers["c"]["error"]


# Tenant isolation


def test_tenant_as_assistant_never_books_into_tenant_b_whatever_the_metadata_says(voice_lines, tenant_a, tenant_b):
    day = next_business_day(tenant_a.tenant.zone)
    body = tool_calls(
        ("iso-1", "book_appointment", {"starts_at": f"{day}T10:00", "duration_minutes": 60}),
        phone_number_id=None,
        assistant_id=ASSISTANT_A,
        metadata={"tenant_id": tenant_b.tenant.pk, "schema_name": tenant_b.tenant.schema_name},
    )

    answer = results(post(body))["iso-1"]

    assert answer["booked"] is True
    with tenant_a.schema():
        assert Appointment.objects.filter(pk=answer["appointment_id"]).exists()
    with tenant_b.schema():
        assert not Appointment.objects.exists()


def test_ids_of_two_tenants_in_one_message_route_nowhere(voice_lines, tenant_a, tenant_b):
    day = next_business_day(tenant_a.tenant.zone)
    body = tool_calls(
        ("iso-2", "book_appointment", {"starts_at": f"{day}T10:00", "duration_minutes": 60}),
        phone_number_id=PHONE_B,
        assistant_id=ASSISTANT_A,
    )

    answer = post(body).json()

    assert "error" in answer["results"][0]
    assert stored_events()[0].status == WebhookEvent.Status.UNROUTED
    for test_tenant in (tenant_a, tenant_b):
        with test_tenant.schema():
            assert not Appointment.objects.exists()


def test_a_call_id_stored_by_tenant_a_keeps_routing_to_a(voice_lines, tenant_a, tenant_b):
    post(message("assistant-request", call_id="inbound-a"))

    # Later messages of the call carry no number; the stored call id routes them.
    post(message("status-update", call_id="inbound-a", phone_number_id=None, status="in-progress"))

    assert {event.tenant_id for event in stored_events()} == {tenant_a.tenant.pk}


def test_provider_ids_are_unique_across_tenants(voice_lines, tenant_b):
    taken = tenant_b.api().patch("/tenants/me", {"vapi_phone_number_id": PHONE_A})

    assert assert_refused(taken, 409)["errors"][0]["code"] == "provider_id_taken"


# status-update and end-of-call-report (processed by the job)


def test_status_moves_forward_only_and_the_report_is_final(voice_lines, tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory(phone=CALLER)
    post(message("assistant-request", call_id="c-1"))
    post(message("status-update", call_id="c-1", status="in-progress"))
    post(message("status-update", call_id="c-1", status="ringing"))  # late, out of order
    post(message("end-of-call-report", call_id="c-1"))
    post(message("end-of-call-report", call_id="c-1", endedReason="voicemail"))  # a duplicate is ignored
    post(message("status-update", call_id="c-1", status="ended", endedReason="silence-timed-out"))

    run_webhook_jobs()

    with tenant_a.schema():
        call = Call.objects.get(vapi_call_id="c-1")
    assert call.status == "ended"
    assert call.ended_reason == "customer-ended-call"
    assert call.duration_seconds == 195
    assert call.cost == 12
    assert call.summary == "The caller booked a plumbing visit for Tuesday at 10:00."
    assert call.recording_url == "https://storage.vapi.ai/c0a80101-mono.wav"
    assert call.transcript.startswith("AI: Thank you for calling.")
    history = tenant_a.api().get(f"/customers/{customer.pk}/history").json()["items"]
    assert [(item["kind"], item["id"], item["title"]) for item in history] == [("call", call.pk, call.summary)]


MONO = "https://storage.vapi.ai/rec-mono.wav"
STEREO = "https://storage.vapi.ai/rec-stereo.wav"


@pytest.mark.parametrize(
    ("artifact", "stored"),
    [
        pytest.param({"recording": {"stereoUrl": STEREO, "mono": {"combinedUrl": MONO}}}, MONO, id="recording"),
        pytest.param({"recording": {"stereoUrl": STEREO}}, STEREO, id="recording-stereo-only"),
        pytest.param({"recordingUrl": MONO}, MONO, id="recordingUrl"),
        pytest.param({"stereoRecordingUrl": STEREO}, STEREO, id="stereoRecordingUrl"),
    ],
)
def test_the_recording_is_stored_wherever_the_report_gives_it(artifact, stored, voice_lines, tenant_a):
    # Vapi's Artifact: recordingUrl and stereoRecordingUrl, or recording {stereoUrl, mono {combinedUrl}}.
    assert_vapi_type(Artifact, artifact)
    post(message("end-of-call-report", call_id="rec-1", artifact={"transcript": "AI: Hello.", **artifact}))

    run_webhook_jobs()

    with tenant_a.schema():
        assert Call.objects.get(vapi_call_id="rec-1").recording_url == stored


def test_an_end_of_call_report_for_a_call_we_never_saw_creates_the_row(voice_lines, tenant_a):
    post(message("end-of-call-report", call_id="never-seen"))

    run_webhook_jobs()

    with tenant_a.schema():
        call = Call.objects.get(vapi_call_id="never-seen")
    assert (call.direction, call.status, call.cost) == ("inbound", "ended", 12)


def test_tool_calls_in_the_other_published_shapes_are_answered(voice_lines, tenant_a):
    day = next_business_day(tenant_a.tenant.zone)
    arguments = {"date": day.isoformat(), "duration_minutes": 60}
    # Only toolWithToolCallList (arguments as an object), and the docs' {id, name, parameters}.
    nested = message(
        "tool-calls",
        toolCallList=None,
        toolWithToolCallList=[
            {
                "type": "function",
                "toolCall": {"id": "n-1", "function": {"name": "check_availability", "arguments": arguments}},
            }
        ],
    )
    prose = message("tool-calls", toolCallList=[{"id": "p-1", "name": "check_availability", "parameters": arguments}])

    assert results(post(nested))["n-1"]["slots"][0] == local(day, 9, tenant_a.tenant.zone).isoformat()
    assert results(post(prose))["p-1"]["slots"][0] == local(day, 9, tenant_a.tenant.zone).isoformat()


def test_a_message_about_our_call_before_its_id_is_stored_is_retried_not_duplicated(voice_lines, tenant_a):
    body = message("status-update", call_id="out-1", status="ringing")
    body["message"]["call"]["type"] = "outboundPhoneCall"
    post(body)

    with pytest.raises(services.CallNotStoredYet):
        run_webhook_jobs()
    [event] = stored_events()
    assert event.status == WebhookEvent.Status.FAILED
    with tenant_a.schema():
        assert not Call.objects.exists()
        ours = CallFactory(vapi_call_id="out-1", status="dialing")
    webhook_services.replay_webhook_event(event_id=event.pk)

    with tenant_a.schema():
        ours.refresh_from_db()
        assert (Call.objects.count(), ours.status) == (1, "ringing")


def test_a_move_outside_opening_hours_is_refused_with_the_next_free_slots(voice_lines, tenant_a):
    day = next_business_day(tenant_a.tenant.zone)
    booked = results(
        post(tool_calls(("b", "book_appointment", {"starts_at": f"{day}T09:00", "duration_minutes": 60})))
    )["b"]

    night = results(post(tool_calls(("n", "reschedule_appointment", {"starts_at": f"{day}T03:00"}))))["n"]

    assert (night["booked"], night["reason"]) == (False, "slot_taken")
    assert night["slots"][0] == local(day, 9, tenant_a.tenant.zone).isoformat()  # the other staff member
    with tenant_a.schema():
        assert Appointment.objects.get(pk=booked["appointment_id"]).starts_at == local(day, 9, tenant_a.tenant.zone)
