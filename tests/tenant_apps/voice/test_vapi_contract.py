"""What we answer and send Vapi, checked against Vapi's own artifacts: every documented
tool-call shape (tool_call_shapes/: Vapi's SDK types, its docs' examples, the older
`toolCalls`) runs the tool, and every answer and request body validates against the official
vapi-server-sdk models."""

import json
from pathlib import Path

import pytest
from django.db import connection
from vapi.types import (
    ServerMessageResponseAssistantRequest,
    ServerMessageResponseToolCalls,
    ServerMessageToolCalls,
)

from shared_apps.tenants import services as tenant_services
from tenant_apps.customers.models import Customer
from tests.tenant_apps.voice.conftest import next_business_day
from tests.tenant_apps.voice.payloads import CALLER, PHONE_A, message, post, tool_calls
from tests.tenant_apps.voice.vapi_types import assert_vapi_type

SHAPES = Path(__file__).with_name("vapi_payloads") / "tool_call_shapes"
SHAPE_FILES = sorted(SHAPES.glob("*.json"), key=lambda path: path.stem)


def shape(path: Path) -> dict:
    """A corpus message, on tenant A's number."""
    body = json.loads(path.read_text())
    body["message"]["call"]["phoneNumberId"] = PHONE_A
    body["message"]["phoneNumber"]["id"] = PHONE_A
    return body


@pytest.mark.parametrize("path", SHAPE_FILES, ids=[path.stem for path in SHAPE_FILES])
def test_every_documented_tool_call_shape_runs_the_tool(path, voice_lines, tenant_a):
    response = post(shape(path))

    assert response.status_code == 200, response.content
    answer = assert_vapi_type(ServerMessageResponseToolCalls, response.json())
    [item] = answer.results
    assert (item.tool_call_id, item.name, item.error) == ("call_shape_0001", "create_customer", None)
    assert json.loads(item.result)["name"] == "Grace Hopper"
    with tenant_a.schema():
        assert list(Customer.objects.values_list("name", "phone")) == [("Grace Hopper", CALLER)]


@pytest.mark.parametrize("path", [path for path in SHAPE_FILES if path.stem.startswith("sdk-")], ids=lambda path: path.stem)
def test_the_sdk_shaped_corpus_is_vapis_server_message(path):
    ServerMessageToolCalls.model_validate(json.loads(path.read_text())["message"])


def test_every_tool_and_every_failure_answers_vapis_tool_call_results(voice_lines, tenant_a):
    day = next_business_day(tenant_a.tenant.zone)
    calls = [
        ("find", "find_customer", {}),
        ("create", "create_customer", {"name": "Ada"}),
        ("avail", "check_availability", {"date": day.isoformat(), "duration_minutes": 60}),
        ("book", "book_appointment", {"starts_at": f"{day}T10:00", "duration_minutes": 60}),
        ("move", "reschedule_appointment", {"starts_at": f"{day}T14:00"}),
        ("cancel", "cancel_appointment", {}),
    ]
    failures = [
        ("bad-date", "check_availability", {"date": "next tuesday", "duration_minutes": 60}),
        ("bad-time", "book_appointment", {"starts_at": "soon"}),
        ("no-such-tool", "open_the_safe", {}),
        ("nothing-to-cancel", "cancel_appointment", {}),
        ("too-long", "book_appointment", {"starts_at": f"{day}T10:00", "duration_minutes": 100_000}),
    ]

    answered = [post(tool_calls(call)).json() for call in calls]
    failed = post(tool_calls(*failures)).json()

    for answer in answered:
        [item] = assert_vapi_type(ServerMessageResponseToolCalls, answer).results
        assert (item.result is not None, item.error) == (True, None), answer
    items = assert_vapi_type(ServerMessageResponseToolCalls, failed).results
    assert [(item.tool_call_id, item.name) for item in items] == [(tool_id, name) for tool_id, name, _ in failures]
    assert all(item.error and item.result is None for item in items), failed
    assert items[0].error == "date must be YYYY-MM-DD."


def test_a_redelivered_failure_answers_the_same_error(voice_lines):
    body = tool_calls(("again", "check_availability", {"date": "soon"}))

    first, second = post(body).json(), post(body).json()

    assert first == second == {
        "results": [{"toolCallId": "again", "name": "check_availability", "error": "date must be YYYY-MM-DD."}]
    }


def test_tool_calls_no_business_takes_answer_vapis_type_with_the_tools_name(voice_lines, tenant_a):
    unknown = post(tool_calls(("u", "book_appointment", {}), phone_number_id="pn-nobody")).json()
    connection.set_schema_to_public()
    tenant_services.set_tenant_status(tenant_id=tenant_a.tenant.pk, status="suspended")
    suspended = post(tool_calls(("s", "find_customer", {}))).json()

    for answer, name in ((unknown, "book_appointment"), (suspended, "find_customer")):
        [item] = assert_vapi_type(ServerMessageResponseToolCalls, answer).results
        assert (item.name, item.result) == (name, None)
        assert "cannot take requests" in item.error


def test_assistant_request_answers_are_vapis_type(voice_lines, tenant_a):
    tenant_a.api().patch("/tenants/me", {"voice_record_calls": True})

    open_answer = post(message("assistant-request", call_id="typed-1")).json()
    closed_answer = post(message("assistant-request", call_id="typed-2", phone_number_id="pn-nobody")).json()

    assert_vapi_type(ServerMessageResponseAssistantRequest, open_answer)
    assert_vapi_type(ServerMessageResponseAssistantRequest, closed_answer)
