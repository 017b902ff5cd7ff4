"""The AI receptionist's part of the business's settings (shared_apps/tenants/sections.py):
its Vapi ids, which route Vapi's webhooks to the business, its greeting, recording and the
services it offers."""

from typing import Any

from shared_apps.errors import ValidationFailed
from shared_apps.tenants.models import Tenant
from shared_apps.tenants.sections import SettingsSection, provider_id
from shared_apps.webhooks import vapi
from shared_apps.webhooks.services import replace_provider_route
from tenant_apps.voice.models import VoiceSettings

# What the receptionist offers callers: the API's schema (api.tenants.VoiceService) states
# these bounds too, from here.
MAX_VOICE_SERVICES = 30
MAX_VOICE_SERVICE_NAME = 100
VOICE_SERVICE_MINUTES = (5, 24 * 60)

# The settings that route Vapi's webhooks to the business that set them (each id may belong
# to one business).
_ROUTE_KINDS = {"vapi_assistant_id": vapi.ASSISTANT_KIND, "vapi_phone_number_id": vapi.PHONE_NUMBER_KIND}


def validate_voice_services(value: Any) -> list[dict[str, Any]]:
    """What the receptionist offers: [{"name", "duration_minutes"}], names unique (whatever
    their case), VOICE_SERVICE_MINUTES long each."""
    shortest, longest = VOICE_SERVICE_MINUTES
    problem = None
    if not isinstance(value, list) or len(value) > MAX_VOICE_SERVICES:
        problem = f"A list of at most {MAX_VOICE_SERVICES} services."
    cleaned: list[dict[str, Any]] = []
    for item in value if problem is None else []:
        name = str(item.get("name", "")).strip() if isinstance(item, dict) else ""
        minutes = item.get("duration_minutes") if isinstance(item, dict) else None
        if not name or len(name) > MAX_VOICE_SERVICE_NAME or not isinstance(minutes, int) or isinstance(minutes, bool):
            problem = (
                f'Each service is {{"name": text up to {MAX_VOICE_SERVICE_NAME} characters, '
                '"duration_minutes": a whole number}.'
            )
        elif not shortest <= minutes <= longest:
            problem = f"duration_minutes must be between {shortest} and {longest}."
        elif any(service["name"].lower() == name.lower() for service in cleaned):
            problem = f"{name!r} is listed twice."
        if problem:
            break
        cleaned.append({"name": name, "duration_minutes": minutes})
    if problem:
        raise ValidationFailed("Invalid tenant settings.", details=[{"field": "voice_services", "message": problem}])
    return cleaned


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
        "voice_services": validate_voice_services,
    },
    on_saved=claim_vapi_routes,
)
