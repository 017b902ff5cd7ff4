"""What we answer and send Vapi, checked against Vapi's own artifacts: every documented
tool-call shape (tool_call_shapes/: Vapi's SDK types, its docs' examples, the older
`toolCalls`) runs the tool, and every answer and request body validates against the official
vapi-server-sdk models."""

import inspect
import json
import re
from pathlib import Path

import httpx
import pytest
import respx
from django.db import connection
from vapi.calls.raw_client import RawCallsClient
from vapi.types import (
    AssistantOverrides,
    CreateCustomerDto,
    ServerMessageResponseAssistantRequest,
    ServerMessageResponseToolCalls,
    ServerMessageToolCalls,
)

from shared_apps.tenants import services as tenant_services
from shared_apps.tenants.models import Tenant
from tenant_apps.customers.models import Customer
from tenant_apps.voice import services
from tenant_apps.voice.assistant import webhook_url
from tenant_apps.voice.models import Call
from tests.factories import CustomerFactory
from tests.tenant_apps.voice.conftest import next_business_day
from tests.tenant_apps.voice.payloads import CALLER, PHONE_A, message, post, stored_events, tool_calls
from tests.tenant_apps.voice.vapi_types import assert_vapi_type
from tests.test_settings_and_logging import import_settings

SHAPES = Path(__file__).with_name("vapi_payloads") / "tool_call_shapes"
WEBHOOK = webhook_url()
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


@pytest.mark.parametrize(
    "path", [path for path in SHAPE_FILES if path.stem.startswith("sdk-")], ids=lambda path: path.stem
)
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

    assert (
        first
        == second
        == {"results": [{"toolCallId": "again", "name": "check_availability", "error": "date must be YYYY-MM-DD."}]}
    )


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


# How Vapi authenticates to us: every `server` we hand it names it


def servers_of(assistant: dict) -> list[dict]:
    return [assistant["server"], *(tool["server"] for tool in assistant["model"]["tools"])]


def test_every_server_names_the_custom_credential_when_one_is_set(voice_lines, settings):
    settings.VAPI_SERVER_CREDENTIAL_ID = "cred-0000-vapi"

    answer = post(message("assistant-request", call_id="cred-1")).json()

    servers = servers_of(answer["assistant"])
    assert len(servers) == 7
    assert all(server == {"url": WEBHOOK, "credentialId": "cred-0000-vapi"} for server in servers), servers
    assert settings.VAPI_WEBHOOK_SECRET not in json.dumps(answer)


def test_without_a_credential_every_server_sends_the_secret_our_webhook_checks(voice_lines, settings):
    settings.VAPI_SERVER_CREDENTIAL_ID = ""
    answer = post(message("assistant-request", call_id="headers-1")).json()
    servers = servers_of(answer["assistant"])

    # A tool call sent with only what a tool's server names gets in.
    with_its_headers = post(tool_calls(("h", "find_customer", {})), secret="", headers=servers[1]["headers"])

    assert all(
        server == {"url": WEBHOOK, "headers": {"X-Vapi-Secret": settings.VAPI_WEBHOOK_SECRET}} for server in servers
    )
    assert with_its_headers.status_code == 200
    assert with_its_headers.json()["results"][0]["name"] == "find_customer"


def test_a_message_echoing_the_servers_headers_is_stored_without_the_secret(voice_lines, tenant_a, settings):
    settings.VAPI_SERVER_CREDENTIAL_ID = ""
    [tool] = [
        t
        for t in post(message("assistant-request")).json()["assistant"]["model"]["tools"]
        if t["function"]["name"] == "create_customer"
    ]
    body = tool_calls(("echo", "create_customer", {"name": "Echo"}))
    body["message"]["toolWithToolCallList"][0].update(server=tool["server"])

    answer = results_of(post(body))

    [event] = [event for event in stored_events() if b"echo" in bytes(event.body)]
    assert settings.VAPI_WEBHOOK_SECRET.encode() not in bytes(event.body)
    assert json.loads(answer["echo"]["result"])["name"] == "Echo"


def results_of(response) -> dict:
    assert response.status_code == 200, response.content
    return {item["toolCallId"]: item for item in response.json()["results"]}


# The outbound call we ask Vapi for


def sdk_call_fields() -> set[str]:
    """The body fields of Vapi's `POST /call`, as the SDK's calls.create sends them (camelCase)."""
    names = set(inspect.signature(RawCallsClient.create).parameters) - {"self", "request_options"}
    return {re.sub(r"_(\w)", lambda match: match[1].upper(), name) for name in names}


@pytest.mark.parametrize("credential_id", ["cred-0000-vapi", ""], ids=["credential", "headers"])
@respx.mock(assert_all_called=False)
def test_the_outbound_call_body_is_vapis_and_names_our_server(
    credential_id, voice_lines, tenant_a, settings, respx_mock
):
    settings.VAPI_SERVER_CREDENTIAL_ID = credential_id
    route = respx_mock.post(f"{settings.VAPI_SANDBOX_URL}/call").mock(
        return_value=httpx.Response(201, json={"id": "v-typed", "status": "queued"})
    )
    with tenant_a.schema():
        CustomerFactory(phone="+12025550161", name="A customer with a name far longer than forty characters")
    response = tenant_a.api().post("/voice/call", {"to": "+12025550161", "purpose": "Confirm Tuesday"})
    with tenant_a.schema():
        services.place_queued_call(call_id=response.json()["id"], tenant_id=tenant_a.tenant.pk)

    sent = json.loads(route.calls.last.request.content)
    assert set(sent) <= sdk_call_fields()
    overrides = assert_vapi_type(AssistantOverrides, sent["assistantOverrides"])
    assert_vapi_type(CreateCustomerDto, sent["customer"])
    assert len(sent["name"]) <= 40 and len(sent["customer"]["name"]) <= 40
    auth = (
        {"credentialId": credential_id}
        if credential_id
        else {"headers": {"X-Vapi-Secret": settings.VAPI_WEBHOOK_SECRET}}
    )
    assert sent["assistantOverrides"]["server"] == {"url": WEBHOOK, **auth}
    assert {"status-update", "end-of-call-report"} <= set(overrides.server_messages)


def test_a_long_schema_name_still_gives_vapi_a_40_character_call_name(tenant_a):
    tenant = Tenant(schema_name="t_" + "a" * 61)

    name = services.vapi_call_name(tenant=tenant, call=Call(pk=123456789))

    assert (len(name), name.endswith("aaa-call-123456789")) == (40, True)


def test_hmac_without_a_credential_refuses_to_start():
    # Headers cannot sign: with HMAC only a Vapi credential can authenticate Vapi to us.
    refused = import_settings(VAPI_WEBHOOK_HMAC="true", VAPI_SERVER_CREDENTIAL_ID="")
    started = import_settings(VAPI_WEBHOOK_HMAC="true", VAPI_SERVER_CREDENTIAL_ID="cred-0000-vapi")

    assert refused.returncode != 0
    assert "VAPI_SERVER_CREDENTIAL_ID" in refused.stderr
    assert started.returncode == 0, started.stderr
