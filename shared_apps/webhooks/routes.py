"""Provider routes that come from a tenant's settings."""

from typing import Any

from shared_apps.tenants.models import Tenant
from shared_apps.webhooks import twilio, vapi
from shared_apps.webhooks.services import replace_provider_route

# The tenant settings that route a provider's webhooks to the tenant that set them: the
# sender number for inbound texts, Vapi's ids for its calls (each may belong to one tenant).
SETTING_ROUTES = {
    "sms_sender": (twilio.PROVIDER, twilio.SENDER_KIND),
    "vapi_assistant_id": (vapi.PROVIDER, vapi.ASSISTANT_KIND),
    "vapi_phone_number_id": (vapi.PROVIDER, vapi.PHONE_NUMBER_KIND),
}


def claim_setting_routes(tenant: Tenant, changed: dict[str, Any]) -> None:
    """A tenant's settings were saved: its changed route settings become its routes (the
    tenants' settings hook, in the same transaction; a taken id is a 409)."""
    for field, (provider, kind) in SETTING_ROUTES.items():
        if field in changed:
            replace_provider_route(tenant_id=tenant.pk, provider=provider, kind=kind, external_id=changed[field])
