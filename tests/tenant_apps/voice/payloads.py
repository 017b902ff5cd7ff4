"""Vapi server messages for tests: the corpus in vapi_payloads/ (shapes of Vapi's OpenAPI
schemas ServerMessageAssistantRequest, ServerMessageToolCalls, ServerMessageStatusUpdate,
ServerMessageEndOfCallReport, ServerMessageHang), with the ids a test needs, posted to our
webhook through Django's client (so the middleware runs) with the server secret."""

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client

from shared_apps.webhooks import vapi
from shared_apps.webhooks.models import WebhookEvent

PATH = "/api/v1/voice/webhook"
CORPUS = Path(__file__).with_name("vapi_payloads")
MESSAGE_TYPES = sorted(path.stem for path in CORPUS.glob("*.json"))
PHONE_A = "pn-alpha-0001"
PHONE_B = "pn-bravo-0001"
ASSISTANT_A = "asst-alpha-0001"
ASSISTANT_B = "asst-bravo-0001"
CALLER = "+12025550143"


@cache
def _corpus(message_type: str) -> dict[str, Any]:
    return json.loads((CORPUS / f"{message_type}.json").read_text())


def message(
    message_type: str,
    *,
    call_id: str = "call-0001",
    phone_number_id: str | None = PHONE_A,
    assistant_id: str | None = None,
    caller: str = CALLER,
    metadata: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A corpus message about `call_id`, on `phone_number_id` (None: no number) with
    `assistant_id`, from `caller`; `fields` replace top-level fields of the message."""
    body = copy.deepcopy(_corpus(message_type))
    inner = body["message"]
    call = inner["call"]
    call["id"] = call_id
    call.pop("phoneNumberId", None)
    inner.pop("phoneNumber", None)
    if phone_number_id is not None:
        call["phoneNumberId"] = phone_number_id
        inner["phoneNumber"] = {"id": phone_number_id, "number": "+12025550100"}
    if assistant_id is not None:
        call["assistantId"] = assistant_id
    if metadata is not None:
        call["assistantOverrides"] = {"metadata": metadata}
        inner["assistant"] = {"metadata": metadata}
    call["customer"] = {"number": caller}
    inner["customer"] = {"number": caller}
    inner.update(fields)
    return body


def tool_calls(*calls: tuple[str, str, dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """A tool-calls message with (toolCall.id, function name, arguments) each."""
    listed = [
        {"id": tool_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        for tool_id, name, arguments in calls
    ]
    with_tools = [
        {"type": "function", "function": {"name": call["function"]["name"]}, "toolCall": call} for call in listed
    ]
    return message("tool-calls", toolCallList=listed, toolWithToolCallList=with_tools, **kwargs)


def post(body: dict[str, Any] | bytes, *, secret: str | None = None, headers: dict[str, str] | None = None):
    """POST to the webhook on the API host with X-Vapi-Secret (the configured one by default;
    "" sends none)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (headers or {}).items()}
    secret = settings.VAPI_WEBHOOK_SECRET if secret is None else secret
    if secret:
        extra["HTTP_X_VAPI_SECRET"] = secret
    return Client(raise_request_exception=False).post(
        PATH, data=raw, content_type="application/json", HTTP_HOST=settings.BASE_DOMAIN, **extra
    )


def results(response) -> dict[str, dict[str, Any]]:
    """A tool-calls answer's results by toolCallId, each result parsed from its JSON string."""
    assert response.status_code == 200, response.content
    return {
        item["toolCallId"]: json.loads(item["result"]) if "result" in item else {"error": item["error"]}
        for item in response.json()["results"]
    }


def stored_events() -> list[WebhookEvent]:
    return list(WebhookEvent.objects.filter(provider=vapi.PROVIDER).order_by("id"))
