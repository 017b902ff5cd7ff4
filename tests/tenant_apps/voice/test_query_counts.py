"""What Vapi waits on: the SQL statements of the synchronous answers, committed baselines in
tests/api/query_counts.json like every route's (inside a test's transaction, so each of our
transactions counts as a SAVEPOINT/RELEASE pair). An answer is still stored once, routed by
registered ids, and each tool call run once: the other tests of this package say so; these
fail when a statement comes or goes."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.tenants.models import Tenant
from tenant_apps.appointments.models import Appointment
from tenant_apps.voice.models import Call, ToolCallResult
from tests.api.generic import assert_query_count, counted
from tests.tenant_apps.voice.conftest import next_business_day
from tests.tenant_apps.voice.payloads import message, post, results, stored_events, tool_calls

ASSISTANT_REQUEST = "POST /voice/webhook (assistant-request)"
BOOKING = "POST /voice/webhook (tool-calls: book_appointment)"
REPLAYED_TOOL_CALL = "POST /voice/webhook (tool-calls: redelivered)"


def counted_post(route: str, body: dict):
    with CaptureQueriesContext(connection) as captured:
        response = post(body)
    assert_query_count(route, counted(captured))
    return response


def booking(day) -> dict:
    return tool_calls(
        ("tool-1", "book_appointment", {"starts_at": f"{day}T09:00", "duration_minutes": 60}), call_id="call-q"
    )


def test_an_assistant_request_for_a_new_call(voice_lines, tenant_a):
    response = counted_post(ASSISTANT_REQUEST, message("assistant-request", call_id="call-q"))

    assert response.status_code == 200 and "assistant" in response.json()
    assert [event.tenant_id for event in stored_events()] == [tenant_a.tenant.pk]
    with tenant_a.schema():
        assert Call.objects.filter(vapi_call_id="call-q", direction=Call.Direction.INBOUND).count() == 1


def test_a_booking_and_its_redelivery(voice_lines, tenant_a):
    post(message("assistant-request", call_id="call-q"))
    day = next_business_day(tenant_a.tenant.zone)

    first = counted_post(BOOKING, booking(day))
    again = counted_post(REPLAYED_TOOL_CALL, booking(day))

    assert results(first)["tool-1"]["booked"] is True
    assert results(again) == results(first)
    with tenant_a.schema():
        assert Appointment.objects.count() == 1
        assert ToolCallResult.objects.get().call == Call.objects.get(vapi_call_id="call-q")


def test_a_redelivery_whose_first_delivery_was_not_answered_runs_the_tool(voice_lines, tenant_a):
    """The first delivery is stored but refused (business suspended): the redelivery, a
    duplicate, finds no stored answer and runs the tool, once."""
    day = next_business_day(tenant_a.tenant.zone)
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(status=Tenant.Status.SUSPENDED)
    refused = post(booking(day))
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(status=Tenant.Status.ACTIVE)

    answered = post(booking(day))
    again = post(booking(day))

    assert "error" in results(refused)["tool-1"]
    assert len(stored_events()) == 1
    assert results(answered)["tool-1"]["booked"] is True
    assert results(again) == results(answered)
    with tenant_a.schema():
        assert Appointment.objects.count() == 1
