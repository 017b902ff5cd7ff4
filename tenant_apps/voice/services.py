"""The rules for calls: placing one (once, never retried), and what Vapi's messages change on
it. Status only moves forward (STATUS_RANK); the end-of-call report is final."""

import logging
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from shared_apps.errors import Conflict, ValidationFailed
from shared_apps.events.services import emit
from shared_apps.flags import catalogue as flag_names
from shared_apps.flags import services as flags
from shared_apps.outbox.services import enqueue_after_commit
from shared_apps.tenants.models import Tenant
from shared_apps.webhooks import vapi
from shared_apps.webhooks.queries import owns_route
from shared_apps.webhooks.services import claim_provider_route
from tenant_apps.customers import queries as customer_queries
from tenant_apps.customers.services import require_contactable, resolve_recipient
from tenant_apps.voice import gateway, queries
from tenant_apps.voice.assistant import SERVER_MESSAGES, vapi_server
from tenant_apps.voice.models import Call, VoiceSettings

logger = logging.getLogger("voice")

Status = Call.Status
PLACE_ACTOR = "place_voice_call"
STATUS_RANK = {
    Status.PENDING: 0,
    Status.DIALING: 1,
    Status.UNKNOWN: 1,
    Status.SCHEDULED: 2,
    Status.QUEUED: 3,
    Status.RINGING: 4,
    Status.IN_PROGRESS: 5,
    Status.FORWARDING: 6,
    Status.ENDED: 7,
    Status.FAILED: 7,
}
VAPI_STATUSES = {
    status.value: status for status in Status if status not in (Status.PENDING, Status.DIALING, Status.UNKNOWN)
}
MAX_PURPOSE_LENGTH = 500


class CallNotStoredYet(LookupError):
    """A message about an outbound call whose Vapi id the dialing job has not stored yet."""


INVALID_CALL = "Invalid call."


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(INVALID_CALL, details=[{"field": field, "message": message}])


def queue_call(
    *,
    tenant: Tenant,
    customer_id: int | None = None,
    to: str | None = None,
    purpose: str = "",
    assistant_id: str | None = None,
) -> Call:
    """Queue an outbound call from the business's Vapi number to a customer (their phone) or a
    number; the `place_voice_call` job dials it after commit. Refused before anything is
    dialled: an invalid number (400), an `assistant_id` that is not the business's own (400),
    a number that opted out (409), no Vapi number or assistant set up (409), calls switched
    off for the business (409)."""
    flags.require_enabled(flag_names.VOICE, tenant_id=tenant.pk)
    customer, number = resolve_recipient(
        customer_id=customer_id, to=to, region=tenant.country, invalid_title=INVALID_CALL
    )
    if len(purpose) > MAX_PURPOSE_LENGTH:
        raise _invalid("purpose", f"At most {MAX_PURPOSE_LENGTH} characters.")
    require_contactable(phone=number)
    assistant = (assistant_id or "").strip()
    if assistant and not owns_route(
        tenant_id=tenant.pk, provider=vapi.PROVIDER, kind=vapi.ASSISTANT_KIND, external_id=assistant
    ):
        # Another business's assistant would speak for it (and bill it): only the business's own.
        raise _invalid("assistant_id", "Not an assistant of this business (set it as vapi_assistant_id first).")
    voice = VoiceSettings.load()
    assistant = assistant or voice.vapi_assistant_id
    if not voice.vapi_phone_number_id or not assistant:
        raise Conflict(
            "Set the business's vapi_phone_number_id and vapi_assistant_id before placing calls.",
            code="voice_not_configured",
        )
    with transaction.atomic():
        call = Call.objects.create(
            direction=Call.Direction.OUTBOUND,
            status=Status.PENDING,
            customer=customer,
            customer_number=number,
            purpose=purpose.strip(),
            assistant_id=assistant,
            phone_number_id=voice.vapi_phone_number_id,
        )
        enqueue_after_commit(
            actor_name=PLACE_ACTOR, schema_name=tenant.schema_name, call_id=call.pk, tenant_id=tenant.pk
        )
    return call


def place_queued_call(*, call_id: int, tenant_id: int) -> Call | None:
    """Dial a pending call through Vapi, once: it is marked `dialing` (committed) before the
    request, so a job that runs again never dials it twice, and a failed request is never
    retried (a retry could ring the customer twice). Our ids travel in the call's metadata;
    Vapi's call id becomes a provider route, so its messages reach this tenant. A call whose
    business switched calls off after queueing it fails without being dialled."""
    if not flags.is_enabled(flag_names.VOICE, tenant_id=tenant_id):
        return _finish_pending_as_failed(call_id=call_id, reason="integration-disabled")
    with transaction.atomic():
        call = queries.get_call_for_update(call_id=call_id)
        if call is None or call.status != Status.PENDING:
            return call
        call.status = Status.DIALING
        call.save(update_fields=["status", "updated_at"])
    tenant = Tenant.objects.get(pk=tenant_id)
    try:
        placed = gateway.create_call(
            assistant_id=call.assistant_id,
            phone_number_id=call.phone_number_id,
            number=call.customer_number,
            customer_name=call.customer.name if call.customer else "",
            name=vapi_call_name(tenant=tenant, call=call),
            metadata={"tenant_id": tenant_id, "call_row_id": call.pk},
            variable_values={"business_name": tenant.name, "purpose": call.purpose},
            server=vapi_server(),
            server_messages=SERVER_MESSAGES,
        )
    except gateway.VapiError as error:
        logger.warning("Vapi refused call %s: %s", call_id, error)
        return _finish_failed(call_id=call_id, reason=f"vapi-refused-{error.status_code}")
    except gateway.VapiUnreachable as error:
        # Vapi may have placed it: reconcile.py asks Vapi later; re-dialling could ring twice.
        logger.warning("No answer from Vapi placing call %s: %s", call_id, error)
        return _mark_unknown(call_id=call_id, note=f"Vapi did not answer ({error}); checking with Vapi.")
    return store_placed_call(call_id=call_id, tenant_id=tenant_id, placed=placed)


def vapi_call_name(*, tenant: Tenant, call: Call) -> str:
    """The name our call has at Vapi (reconcile matches it): "<schema>-call-<id>", the schema
    shortened from the left to Vapi's 40 characters."""
    suffix = f"-call-{call.pk}"
    return tenant.schema_name[-(gateway.CALL_NAME_LENGTH - len(suffix)) :] + suffix


def store_placed_call(*, call_id: int, tenant_id: int, placed: dict[str, Any], note: str = "") -> Call:
    """Vapi's id and status of a call it placed (its answer to `POST /call`, or its record
    found later, with a `note` saying so), the id claimed as this tenant's route."""
    with transaction.atomic():
        call = queries.get_call_for_update(call_id=call_id)
        assert call is not None  # a call is never deleted, least of all while dialing
        call.vapi_call_id = str(placed.get("id") or "") or None
        ended = _advance(call, VAPI_STATUSES.get(str(placed.get("status", "")))) and call.status == Status.ENDED
        if ended:
            call.ended_reason = _text(placed.get("endedReason"))[:200]
        call.note = note or call.note
        call.save(update_fields=["vapi_call_id", "status", "ended_reason", "note", "updated_at"])
        if ended:
            _call_ended(call)
        if call.vapi_call_id:
            claim_provider_route(
                tenant_id=tenant_id, provider=vapi.PROVIDER, kind=vapi.CALL_KIND, external_id=call.vapi_call_id
            )
    return call


def _mark_unknown(*, call_id: int, note: str) -> Call:
    with transaction.atomic():
        call = queries.get_call_for_update(call_id=call_id)
        assert call is not None
        call.status = Status.UNKNOWN
        call.note = note[:200]
        call.save(update_fields=["status", "note", "updated_at"])
    return call


def _finish_pending_as_failed(*, call_id: int, reason: str) -> Call | None:
    """Fail a call that was never dialled (still pending); any other is left as it is."""
    with transaction.atomic():
        call = queries.get_call_for_update(call_id=call_id)
        if call is None or call.status != Status.PENDING:
            return call
    return _finish_failed(call_id=call_id, reason=reason)


def _finish_failed(*, call_id: int, reason: str) -> Call:
    with transaction.atomic():
        call = queries.get_call_for_update(call_id=call_id)
        assert call is not None
        call.status = Status.FAILED
        call.ended_reason = reason[:200]
        call.save(update_fields=["status", "ended_reason", "updated_at"])
    return call


def _call_ended(call: Call) -> None:
    """The call.ended event, emitted by whichever update first moves the call to ENDED."""
    emit(
        "call.ended",
        call_id=call.pk,
        customer_id=call.customer_id,
        direction=call.direction,
        ended_reason=call.ended_reason,
    )


def _advance(call: Call, new_status: str | None) -> bool:
    """Move `call` to `new_status` if that is forward; never out of ended or failed."""
    if new_status is None or STATUS_RANK[Status(new_status)] <= STATUS_RANK[Status(call.status)]:
        return False
    call.status = new_status
    return True


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def caller_number(message: dict[str, Any]) -> str:
    """The other party's number: `call.customer.number`, else `customer.number`."""
    call = _object(message.get("call"))
    return _text(_object(call.get("customer")).get("number")) or _text(_object(message.get("customer")).get("number"))


def record_call(*, tenant: Tenant, message: dict[str, Any]) -> Call:
    """The row of the call `message` is about, made the first time we hear of a call we did not
    place (an inbound call), with the caller's customer once the number is known; an outbound
    call not stored yet raises CallNotStoredYet. Its Vapi id
    becomes a route to this tenant, so the call's later messages find it first."""
    vapi_call = _object(message.get("call"))
    vapi_call_id = _text(vapi_call.get("id"))
    existing = queries.find_call_by_vapi_id(vapi_call_id=vapi_call_id)
    if existing is not None:
        if existing.customer_id is None and existing.customer_number:
            # An unknown caller who became a customer during the call (the booking tool).
            customer = customer_queries.find_customer_by_phone(phone=existing.customer_number)
            if customer is not None:
                Call.objects.filter(pk=existing.pk, customer__isnull=True).update(customer=customer)
                existing.customer = customer
        return existing
    if _text(vapi_call.get("type")).startswith("outbound"):
        # Ours, but the dialing job has not stored Vapi's id yet: the job processing this
        # message fails and is retried, rather than making a second row for the call.
        raise CallNotStoredYet(f"No call {vapi_call_id} in this business (yet).")
    number = caller_number(message)
    call = Call(
        direction=Call.Direction.INBOUND,
        status=Status.RINGING,
        vapi_call_id=vapi_call_id or None,
        customer=customer_queries.find_customer_by_phone(phone=number) if number else None,
        customer_number=number[:32],
        assistant_id=_text(vapi_call.get("assistantId"))[:64],
        phone_number_id=_text(vapi_call.get("phoneNumberId"))[:64],
    )
    try:
        with transaction.atomic():
            call.save(force_insert=True)
            if vapi_call_id:
                claim_provider_route(
                    tenant_id=tenant.pk, provider=vapi.PROVIDER, kind=vapi.CALL_KIND, external_id=vapi_call_id
                )
    except IntegrityError:
        # A concurrent delivery about the same call stored it first (unique vapi_call_id).
        stored = queries.find_call_by_vapi_id(vapi_call_id=vapi_call_id)
        if stored is None:
            raise
        return stored
    return call


def _instant(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        return None


def _cents(value: Any) -> int | None:
    """Vapi's cost (US dollars, a JSON number) in cents, half-up; never through a float."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        cents = (Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None
    return int(cents) if cents >= 0 else None


def recording_url(message: dict[str, Any]) -> str:
    """The report's recording, wherever Vapi put it: `artifact.recordingUrl`, else
    `artifact.recording` (`mono.combinedUrl`, else `stereoUrl`), else the stereo URL, else the
    older top-level `recordingUrl`."""
    artifact = _object(message.get("artifact"))
    recording = _object(artifact.get("recording"))
    return (
        _text(artifact.get("recordingUrl"))
        or _text(_object(recording.get("mono")).get("combinedUrl"))
        or _text(recording.get("stereoUrl"))
        or _text(artifact.get("stereoRecordingUrl"))
        or _text(message.get("recordingUrl"))
    )


def apply_status_update(*, tenant: Tenant, message: dict[str, Any]) -> Call:
    """A `status-update`: the call's status moves forward only; `ended` brings the reason."""
    call = record_call(tenant=tenant, message=message)
    with transaction.atomic():
        call = queries.get_call_for_update(call_id=call.pk) or call
        fields = ["status", "updated_at"]
        advanced = _advance(call, VAPI_STATUSES.get(_text(message.get("status"))))
        if advanced and call.status == Status.ENDED and not call.report_received and message.get("endedReason"):
            call.ended_reason = _text(message.get("endedReason"))[:200]
            fields.append("ended_reason")
        call.save(update_fields=fields)
        if advanced and call.status == Status.ENDED:
            _call_ended(call)
    return call


def apply_end_of_call_report(*, tenant: Tenant, message: dict[str, Any]) -> Call:
    """An `end-of-call-report`: transcript, summary, recording, cost, times and reason. The
    report is final: the first one is kept and the call is ended."""
    call = record_call(tenant=tenant, message=message)
    with transaction.atomic():
        call = queries.get_call_for_update(call_id=call.pk) or call
        if call.report_received:
            return call
        artifact = _object(message.get("artifact"))
        analysis = _object(message.get("analysis"))
        call.started_at = _instant(message.get("startedAt")) or call.started_at
        call.ended_at = _instant(message.get("endedAt")) or call.ended_at
        if call.started_at and call.ended_at and call.ended_at >= call.started_at:
            call.duration_seconds = round((call.ended_at - call.started_at).total_seconds())
        call.transcript = _text(artifact.get("transcript")) or _text(message.get("transcript"))
        call.summary = _text(analysis.get("summary")) or _text(message.get("summary"))
        call.recording_url = recording_url(message)[:2000]
        call.cost = _cents(message.get("cost"))
        call.ended_reason = _text(message.get("endedReason"))[:200]
        already_ended = call.status == Status.ENDED
        call.status = Status.ENDED
        call.report_received = True
        call.save()
        if not already_ended:
            _call_ended(call)
    return call
