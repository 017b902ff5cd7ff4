"""Vapi's server messages in the owning tenant's schema: the pipeline's handler (status
updates, end-of-call reports, replays) and the answers to the two messages Vapi waits for."""

import json
import logging
from contextlib import suppress
from typing import Any

from shared_apps.tenants.models import Tenant
from shared_apps.webhooks.models import WebhookEvent
from shared_apps.webhooks.vapi import tool_calls as parse_tool_calls
from tenant_apps.voice import services
from tenant_apps.voice.assistant import assistant_for
from tenant_apps.voice.tools import answer_tool_calls, stored_answers, tool_call_ids

logger = logging.getLogger("voice")


def answer_assistant_request(*, tenant: Tenant, message: dict[str, Any]) -> dict[str, Any]:
    """The tenant's assistant for an inbound call; the call is recorded (and routed) from now on."""
    services.record_call(tenant=tenant, message=message)
    return assistant_for(tenant=tenant)


def answer_tools(*, tenant: Tenant, message: dict[str, Any], redelivered: bool) -> dict[str, Any]:
    """`{"results": [{toolCallId, name, result | error}]}`, each tool call run once. A `redelivered`
    message (stored before) reads the committed answers first, in one query: when all are
    there, that is the answer, and nothing else is read."""
    tool_calls = parse_tool_calls(message)
    stored = stored_answers(tool_calls=tool_calls) if redelivered else {}
    if stored and all(tool_id in stored for tool_id in tool_call_ids(tool_calls)):
        return {"results": [stored[tool_id] for tool_id in tool_call_ids(tool_calls)]}
    call = None
    if isinstance(message.get("call"), dict) and message["call"].get("id"):
        # The tools need no call row: a caller never waits for the dialing job to store one.
        with suppress(services.CallNotStoredYet):
            call = services.record_call(tenant=tenant, message=message)
    answers = answer_tool_calls(tenant=tenant, message=message, call=call, tool_calls=tool_calls, stored=stored)
    return {"results": answers}


def handle_vapi_event(event: WebhookEvent) -> None:
    """The pipeline's handler. The synchronous messages were answered when they arrived; a
    replay of tool calls finds their stored answers and books nothing again."""
    assert event.tenant is not None  # the pipeline hands handlers routed events only
    payload = json.loads(bytes(event.body))
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, dict):
        return
    kind = message.get("type")
    if kind == "status-update":
        services.apply_status_update(tenant=event.tenant, message=message)
    elif kind == "end-of-call-report":
        services.apply_end_of_call_report(tenant=event.tenant, message=message)
    elif kind == "tool-calls":
        # Answered when it arrived, normally: the stored answers are read, nothing runs again.
        answer_tools(tenant=event.tenant, message=message, redelivered=True)
    elif kind == "hang":
        # The assistant stalled on a live call (Vapi's `hang`): worth an alert, nothing to store.
        call = message.get("call")
        call_id = call.get("id") if isinstance(call, dict) else None
        logger.warning("Vapi reports a stalled assistant on call %s", call_id)
