"""Voice: the AI receptionist's calls, and Vapi's webhook (public, API host)."""

from datetime import datetime
from typing import Annotated

from django.http import JsonResponse
from django_tenants.utils import tenant_context
from ninja import Router, Schema
from pydantic import Field

from api.auth import ApiRequest, member
from api.idempotency import idempotent
from api.lists import paginate
from api.schemas import RowId, StrictSchema, enum_of
from api.tenancy import require_api_host
from shared_apps.flags.catalogue import VOICE
from shared_apps.webhooks import vapi
from tenant_apps.voice import queries, services
from tenant_apps.voice.assistant import closed_answer
from tenant_apps.voice.events import answer_assistant_request, answer_tools
from tenant_apps.voice.models import Call

router = Router(tags=["voice"])


@router.post("/webhook", auth=None, response={200: dict})
def vapi_webhook(request: ApiRequest):
    """Vapi's server messages (X-Vapi-Secret, Bearer, or HMAC): stored once and routed by
    Vapi's phone number, assistant or call id. `assistant-request` and `tool-calls` are answered
    here from the owning tenant's schema; the others are processed by a job. Bad secret: 401,
    nothing stored."""
    require_api_host(request)
    received = vapi.receive_vapi_webhook(
        headers=request.headers, body=request.body, content_type=request.content_type or ""
    )
    message, tenant = received.message, received.tenant
    # Suspended, or calls switched off for the business (its voice flag): closed.
    open_for_calls = tenant is not None and tenant.may_run(integration=VOICE)
    if message.type == "assistant-request":
        if tenant is None or not open_for_calls:
            return JsonResponse(closed_answer(tenant))
        with tenant_context(tenant):
            return JsonResponse(answer_assistant_request(tenant=tenant, message=message.body))
    if message.type == "tool-calls":
        if tenant is None or not open_for_calls:
            refused = [
                vapi.tool_error(call, error="This business cannot take requests right now.")
                for call in vapi.tool_calls(message.body)
            ]
            return JsonResponse({"results": refused})
        with tenant_context(tenant):
            redelivered = not received.recorded.created
            return JsonResponse(answer_tools(tenant=tenant, message=message.body, redelivered=redelivered))
    return JsonResponse({"received": True})


class CallIn(StrictSchema):
    """`customer_id` or `to` (a phone number); what the call is about; an assistant of
    the business's own (one it has set as its vapi_assistant_id)."""

    customer_id: RowId | None = None
    to: str | None = Field(default=None, max_length=32)
    purpose: str = Field(default="", max_length=services.MAX_PURPOSE_LENGTH)
    assistant_id: str | None = Field(default=None, max_length=64)


class QueuedCallOut(Schema):
    id: int
    status: Annotated[str, enum_of(Call.Status)]


class CallOut(Schema):
    id: int
    status: Annotated[str, enum_of(Call.Status)]
    direction: Annotated[str, enum_of(Call.Direction)]
    customer_id: int | None
    customer_number: str
    purpose: str
    started_at: datetime | None
    ended_at: datetime | None
    duration_seconds: int | None
    transcript: str
    summary: str
    recording_url: str
    cost: int | None = Field(description="Vapi's cost in US cents.")
    cost_currency: str = "usd"
    ended_reason: str
    note: str = Field(description="Why the call is `unknown`, or how it was settled without Vapi's messages.")
    created_at: datetime
    updated_at: datetime


@router.post("/call", response={202: QueuedCallOut}, auth=member)
@idempotent
def place_call(request: ApiRequest, payload: CallIn):
    """Queue an outbound call from the business's Vapi number; a job dials it, once."""
    call = services.queue_call(
        tenant=request.auth.tenant,
        customer_id=payload.customer_id,
        to=payload.to,
        purpose=payload.purpose,
        assistant_id=payload.assistant_id,
    )
    return 202, call


@router.get("/calls", response=list[CallOut], auth=member)
@paginate
def list_calls(request: ApiRequest, customer_id: RowId | None = None, direction: Call.Direction | None = None):
    """Calls both ways, newest first; calls from unknown numbers have no customer."""
    return queries.list_calls(customer_id=customer_id, direction=direction)


@router.get("/calls/{call_id}", response=CallOut, auth=member)
def get_call(request: ApiRequest, call_id: RowId):
    """One call, with its outcome, transcript and summary when it has ended."""
    return queries.get_call(call_id=call_id)
