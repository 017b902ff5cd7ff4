"""Vapi's server messages on the pipeline (docs/providers-vapi.md): authenticated with the
server secret (X-Vapi-Secret, Bearer, or HMAC-SHA256 of "{timestamp}.{body}"), stored once
and routed by the ids Vapi sends, never by the metadata a payload carries."""

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from shared_apps.errors import NotAuthenticated, ValidationFailed
from shared_apps.tenants.models import Tenant
from shared_apps.webhooks.queries import first_owner, route_owners
from shared_apps.webhooks.services import RecordedEvent, store_webhook_event

logger = logging.getLogger("webhooks.vapi")

PROVIDER = "vapi"
# Route kinds: a tenant's Vapi phone number and assistant, and a call we placed or answered.
PHONE_NUMBER_KIND = "phone_number"
ASSISTANT_KIND = "assistant"
CALL_KIND = "call"
# Messages Vapi waits for: answered inline from the tenant's schema.
SYNCHRONOUS_TYPES = frozenset({"assistant-request", "tool-calls"})
HMAC_SIGNATURE_HEADER = "X-Signature"
HMAC_TIMESTAMP_HEADER = "X-Timestamp"


def verify_vapi_request(*, headers: Mapping[str, str], body: bytes) -> bool:
    """True when the request carries VAPI_WEBHOOK_SECRET: as HMAC-SHA256 (hex) of
    "{timestamp}.{body}" when VAPI_WEBHOOK_HMAC is on, else as X-Vapi-Secret or a Bearer token.
    Without a configured secret nothing verifies. Compared in constant time."""
    secret = settings.VAPI_WEBHOOK_SECRET
    if not secret:
        return False
    if settings.VAPI_WEBHOOK_HMAC:
        signature = headers.get(HMAC_SIGNATURE_HEADER, "")
        timestamp = headers.get(HMAC_TIMESTAMP_HEADER, "")
        expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        return bool(signature and timestamp) and hmac.compare_digest(signature.encode(), expected.encode())
    offered = headers.get("X-Vapi-Secret", "")
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    if not offered and scheme.lower() == "bearer":
        offered = token.strip()
    return bool(offered) and hmac.compare_digest(offered.encode(), secret.encode())


@dataclass(frozen=True)
class VapiMessage:
    """The parts of a server message that route and deduplicate it."""

    type: str
    call_id: str
    phone_number_id: str
    assistant_id: str
    body: dict[str, Any]

    @property
    def route_candidates(self) -> list[tuple[str, str]]:
        """Our stored call id first (a call we placed or answered), then the number, then the
        assistant: ids Vapi itself sets, never anything from `metadata`."""
        return [
            (CALL_KIND, self.call_id),
            (PHONE_NUMBER_KIND, self.phone_number_id),
            (ASSISTANT_KIND, self.assistant_id),
        ]

    def dedupe_key(self) -> str:
        if self.type == "tool-calls":
            ids = sorted(call.id for call in tool_calls(self.body))
            return f"{self.call_id}:tool-calls:{','.join(ids)}"
        if self.type == "status-update":
            return f"{self.call_id}:status-update:{self.body.get('status', '')}"
        if self.type in ("assistant-request", "end-of-call-report"):
            return f"{self.call_id}:{self.type}"
        # Live, informational messages have no natural key: one row per distinct body.
        return (
            f"{self.call_id}:{self.type}:{hashlib.sha256(json.dumps(self.body, sort_keys=True).encode()).hexdigest()}"
        )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class ToolCall:
    """One tool call of a `tool-calls` message, whatever shape it came in."""

    id: str
    name: str
    arguments: dict[str, Any]


def _arguments(value: Any) -> dict[str, Any] | None:
    """Arguments as Vapi sends them: a JSON string or an object; None when absent."""
    if isinstance(value, str):
        try:
            value = json.loads(value or "{}")
        except ValueError:
            return {}
    return value if isinstance(value, dict) else None


def _first_arguments(*candidates: Any) -> dict[str, Any] | None:
    return next((parsed for value in candidates if (parsed := _arguments(value)) is not None), None)


def _listed_call(item: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None]:
    """An item of `toolCallList` or the older `toolCalls`: `{id, function: {name, arguments}}`
    (Vapi's ToolCall), or `{id, name, arguments | parameters}` (the docs' prose)."""
    function = _object(item.get("function"))
    name = _text(function.get("name")) or _text(item.get("name"))
    arguments = _first_arguments(function.get("arguments"), item.get("arguments"), item.get("parameters"))
    return _text(item.get("id")), name, arguments


def _wrapped_call(item: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None]:
    """An item of `toolWithToolCallList`: the tool (`function` is its definition, whose
    `parameters` is a JSON schema, never arguments; the docs put `name` on the item) with its
    `toolCall`."""
    tool_call_id, name, arguments = _listed_call(_object(item.get("toolCall")))
    return tool_call_id, name or _text(item.get("name")) or _text(_object(item.get("function")).get("name")), arguments


def tool_calls(message: Mapping[str, Any]) -> list[ToolCall]:
    """The message's tool calls in every shape Vapi has sent or documented: `toolCallList`,
    `toolWithToolCallList` and the older `toolCalls`, alone or together. One call per id, in
    order of first appearance; its name and arguments come from whichever list carries them."""
    found: dict[str, tuple[str, dict[str, Any] | None]] = {}
    sources = (
        (message.get("toolCallList"), _listed_call),
        (message.get("toolWithToolCallList"), _wrapped_call),
        (message.get("toolCalls"), _listed_call),
    )
    for items, read in sources:
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            tool_call_id, name, arguments = read(item)
            if not tool_call_id:
                continue
            known_name, known_arguments = found.get(tool_call_id, ("", None))
            found[tool_call_id] = (known_name or name, known_arguments if known_arguments is not None else arguments)
    return [ToolCall(id=key, name=name, arguments=arguments or {}) for key, (name, arguments) in found.items()]


def tool_result(call: ToolCall, *, result: str) -> dict[str, Any]:
    """Vapi's ToolCallResult for a tool that ran: `result` is the string the model reads."""
    return {"toolCallId": call.id, "name": call.name, "result": result}


def tool_error(call: ToolCall, *, error: str) -> dict[str, Any]:
    """Vapi's ToolCallResult for a tool that failed: in `error`, so the tool's request-failed
    message fires and the model knows nothing was done."""
    return {"toolCallId": call.id, "name": call.name, "error": error}


def parse_vapi_message(body: bytes) -> VapiMessage:
    """The `message` of a server message body; ValidationFailed when it is not one."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        payload = None
    message = _object(payload).get("message") if isinstance(payload, dict) else None
    if not isinstance(message, dict) or not _text(message.get("type")):
        raise ValidationFailed("Not a Vapi server message.", details=[{"field": "message.type", "message": "Missing."}])
    call = _object(message.get("call"))
    return VapiMessage(
        type=message["type"],
        call_id=_text(call.get("id")),
        phone_number_id=_text(call.get("phoneNumberId")) or _text(_object(message.get("phoneNumber")).get("id")),
        assistant_id=_text(call.get("assistantId")) or _text(_object(message.get("assistant")).get("id")),
        body=message,
    )


def route_vapi_message(message: VapiMessage) -> tuple[list[tuple[str, str]], Tenant | None]:
    """The message's route candidates and the tenant they lead to, in one query. When its ids
    name different tenants (a number of one business with another's assistant) there are
    none: such a message is stored unrouted, so no mix-up can reach a tenant's data."""
    candidates = message.route_candidates
    owners = route_owners(provider=PROVIDER, candidates=candidates)
    if len({tenant.pk for tenant in owners.values()}) > 1:
        logger.warning("Vapi message %s names ids of different tenants; stored unrouted", message.type)
        return [], None
    return candidates, first_owner(owners=owners, candidates=candidates)


REDACTED = b"[redacted]"


def without_secret(body: bytes) -> bytes:
    """`body` with VAPI_WEBHOOK_SECRET blanked out: Vapi echoes the `server` objects we gave it
    (their headers carry the secret when no credential is set), and stored bodies must not."""
    secret = settings.VAPI_WEBHOOK_SECRET
    if not secret:
        return body
    for form in {secret.encode(), json.dumps(secret)[1:-1].encode()}:
        body = body.replace(form, REDACTED)
    return body


@dataclass(frozen=True)
class ReceivedVapiMessage:
    message: VapiMessage
    recorded: RecordedEvent

    @property
    def tenant(self) -> Tenant | None:
        return self.recorded.event.tenant


def receive_vapi_webhook(*, headers: Mapping[str, str], body: bytes, content_type: str) -> ReceivedVapiMessage:
    """Verify and store one Vapi delivery, routed to the tenant owning its ids (unrouted when
    none or several do), the secret blanked out of the stored body. Raises NotAuthenticated
    before anything is stored when the secret is missing or wrong. Informational messages are
    processed by the pipeline's job; the caller answers the synchronous ones itself."""
    if not verify_vapi_request(headers=headers, body=body):
        logger.warning("Refused a Vapi webhook with a missing or wrong secret")
        raise NotAuthenticated("Invalid Vapi secret.", code="invalid_signature")
    message = parse_vapi_message(body)
    candidates, tenant = route_vapi_message(message)
    recorded = store_webhook_event(
        provider=PROVIDER,
        dedupe_key=message.dedupe_key()[:255],
        tenant=tenant,
        route_candidates=candidates,
        body=without_secret(body),
        content_type=content_type,
    )
    return ReceivedVapiMessage(message=message, recorded=recorded)
