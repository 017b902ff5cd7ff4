"""Finding out what became of calls whose dial had no clear outcome.

Vapi has no idempotency key, so a `POST /call` that timed out is never retried: the call is
left `unknown` (or `dialing`, when the job died mid-request). This periodic pass asks Vapi
instead: it lists the calls made from the call's number around the time we dialled
(`GET /call?phoneNumberId&createdAtGt&createdAtLt`) and takes the one carrying our call's ids
in its metadata (or the name we gave it). Found: its Vapi id is stored and claimed as this
tenant's route, and its status taken. Vapi with still no record after GIVE_UP_AFTER: the call
was never placed and is marked failed with a note. Vapi unreachable: the next pass tries
again. Nothing is ever dialled by this job."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shared_apps.tenants.every_tenant import run_in_every_active_tenant
from shared_apps.tenants.models import Tenant
from shared_apps.webhooks import vapi
from tenant_apps.voice import gateway, queries
from tenant_apps.voice.models import Call
from tenant_apps.voice.services import store_placed_call, vapi_call_name

logger = logging.getLogger("voice.reconcile")

Status = Call.Status
UNSETTLED = (Status.UNKNOWN, Status.DIALING)
# A call is looked up once it has been unsettled this long (a dial lasts TIMEOUT_SECONDS at most).
RECONCILE_AFTER = timedelta(minutes=2)
# Vapi's list may lag behind a create; after this long without a record, it was never placed.
GIVE_UP_AFTER = timedelta(minutes=30)
# Vapi's clock and ours differ a little.
CLOCK_SLACK = timedelta(minutes=1)
BATCH_SIZE = 100
NOT_PLACED_REASON = "dial-not-placed"
NOT_PLACED_NOTE = "Vapi has no record of this call: it was not placed."
FOUND_NOTE = "Vapi placed this call; its answer to the dial was lost."


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_ours(found: dict[str, Any], *, call: Call, tenant: Tenant) -> bool:
    """Our ids in the call's metadata (`assistantOverrides.metadata`, as we send them, or
    `metadata`), else the name we gave it."""
    for metadata in (_object(_object(found.get("assistantOverrides")).get("metadata")), _object(found.get("metadata"))):
        if metadata.get("call_row_id") == call.pk and metadata.get("tenant_id") == tenant.pk:
            return True
    return found.get("name") == vapi_call_name(tenant=tenant, call=call)


def _find_at_vapi(call: Call, *, tenant: Tenant) -> dict[str, Any] | None:
    """Vapi's record of `call`, or None when it has none. Raises VapiError / VapiUnreachable
    when Vapi cannot be asked."""
    listed = gateway.list_calls(
        phone_number_id=call.phone_number_id,
        created_at_gt=call.created_at - CLOCK_SLACK,
        created_at_lt=call.updated_at + timedelta(seconds=gateway.TIMEOUT_SECONDS) + CLOCK_SLACK,
    )
    return next((found for found in listed if found.get("id") and _is_ours(found, call=call, tenant=tenant)), None)


def _settle(*, call_id: int, tenant_id: int, found: dict[str, Any] | None, now: datetime) -> None:
    with transaction.atomic():
        call = queries.get_call_for_update(call_id=call_id)
        if call is None or call.status not in UNSETTLED or call.vapi_call_id:
            return
        if found is None:
            if now - call.updated_at >= GIVE_UP_AFTER:
                call.status = Status.FAILED
                call.ended_reason = NOT_PLACED_REASON
                call.note = NOT_PLACED_NOTE
                call.save(update_fields=["status", "ended_reason", "note", "updated_at"])
            return
        store_placed_call(call_id=call_id, tenant_id=tenant_id, placed=found, note=FOUND_NOTE)


def reconcile_unsettled_calls(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Settle the current schema's calls left `unknown` or `dialing`; returns how many were
    looked up. Never dials anything."""
    now = now or timezone.now()
    looked_up = 0
    for call in queries.unsettled_calls_before(statuses=UNSETTLED, before=now - RECONCILE_AFTER, limit=BATCH_SIZE):
        try:
            found = _find_at_vapi(call, tenant=tenant)
        except (gateway.VapiError, gateway.VapiUnreachable):
            logger.warning("Could not ask Vapi about a call", exc_info=True, extra={"call_id": call.pk})
            continue
        _settle(call_id=call.pk, tenant_id=tenant.pk, found=found, now=now)
        looked_up += 1
    return looked_up


def reconcile_all_tenants(*, now: datetime | None = None) -> int:
    """`reconcile_unsettled_calls` in every active business with a Vapi number, which is then
    its Vapi route (read in the public schema, not in each schema)."""
    return run_in_every_active_tenant(
        lambda tenant: reconcile_unsettled_calls(tenant=tenant, now=now),
        having=Q(provider_routes__provider=vapi.PROVIDER, provider_routes__kind=vapi.PHONE_NUMBER_KIND),
    )
