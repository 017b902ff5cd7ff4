"""The text channel's part of the business's settings (shared_apps/tenants/sections.py): its
sender number, which routes inbound texts and delivery statuses to the business, and quiet
hours."""

from typing import Any

from shared_apps.tenants.models import Tenant
from shared_apps.tenants.sections import SettingsSection, international_number, invalid_setting, local_time
from shared_apps.webhooks import twilio
from shared_apps.webhooks.services import replace_provider_route
from tenant_apps.sms.models import SmsSettings


def validate_sms_sender(value: str) -> str:
    """A Twilio sender number in E.164 ("+12025550143"); blank means none."""
    return international_number(value, field_name="sms_sender", message="An E.164 phone number, such as +12025550143.")


def check_quiet_hours(row: SmsSettings) -> None:
    if row.quiet_hours_start == row.quiet_hours_end:
        raise invalid_setting("quiet_hours_end", "Quiet hours must start and end at different times.")


def claim_sender_route(tenant: Tenant, changed: dict[str, Any]) -> None:
    """A new sender number becomes the business's route for Twilio's webhooks (the old one is
    released; a number another business holds is a 409), in the saving transaction."""
    if "sms_sender" in changed:
        replace_provider_route(
            tenant_id=tenant.pk, provider=twilio.PROVIDER, kind=twilio.SENDER_KIND, external_id=changed["sms_sender"]
        )


SECTION = SettingsSection(
    name="sms",
    model=SmsSettings,
    validators={
        "sms_sender": lambda value: validate_sms_sender(value or ""),
        "quiet_hours_start": lambda value: local_time("quiet_hours_start", value),
        "quiet_hours_end": lambda value: local_time("quiet_hours_end", value),
    },
    check=check_quiet_hours,
    on_saved=claim_sender_route,
)
