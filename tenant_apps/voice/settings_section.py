"""The AI receptionist's part of the business's settings (shared_apps/tenants/sections.py):
its Vapi ids, which route Vapi's webhooks to the business, its greeting and recording (the
services it offers are the price book's)."""

from typing import Any

from shared_apps.tenants.models import Tenant
from shared_apps.tenants.sections import SettingsSection, provider_id
from shared_apps.webhooks import vapi
from shared_apps.webhooks.services import replace_provider_route
from tenant_apps.voice.models import VoiceSettings

# The settings that route Vapi's webhooks to the business that set them (each id may belong
# to one business).
_ROUTE_KINDS = {"vapi_assistant_id": vapi.ASSISTANT_KIND, "vapi_phone_number_id": vapi.PHONE_NUMBER_KIND}


def claim_vapi_routes(tenant: Tenant, changed: dict[str, Any]) -> None:
    """Changed Vapi ids become the business's routes for Vapi's webhooks (the old ones are
    released; an id another business holds is a 409), in the saving transaction."""
    for field, kind in _ROUTE_KINDS.items():
        if field in changed:
            replace_provider_route(tenant_id=tenant.pk, provider=vapi.PROVIDER, kind=kind, external_id=changed[field])


SECTION = SettingsSection(
    name="voice",
    model=VoiceSettings,
    validators={
        "vapi_assistant_id": lambda value: provider_id("vapi_assistant_id", value),
        "vapi_phone_number_id": lambda value: provider_id("vapi_phone_number_id", value),
        "voice_greeting": lambda value: str(value or "").strip(),
        "voice_record_calls": bool,
    },
    on_saved=claim_vapi_routes,
)
