"""The receptionist a business's inbound call gets (the answer to Vapi's assistant-request):
who the business is, its hours in its own zone, today's date there, its services, a greeting
that says it is an automated assistant (and whether the call is recorded: recording is off
unless the business turned it on), and the tools, which call our webhook."""

from typing import Any, cast

from django.conf import settings
from django.utils import timezone

from shared_apps.tenants.models import Tenant
from shared_apps.tenants.sections import load_rows
from tenant_apps.appointments.models import WEEKDAYS, AppointmentSettings
from tenant_apps.pricebook.queries import bookable_services
from tenant_apps.voice.models import VoiceSettings

WEBHOOK_PATH = "/api/v1/voice/webhook"
DAY_NAMES = dict(
    zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True)
)
# The price book's bookable services the prompt names: enough for any menu a caller hears.
MAX_SERVICES_NAMED = 30
# Only the messages we use (Vapi's default list includes chatty live updates).
SERVER_MESSAGES = ["status-update", "end-of-call-report", "tool-calls", "hang"]


def webhook_url() -> str:
    """Where Vapi posts server messages: our webhook at the public base URL."""
    base = settings.PUBLIC_BASE_URL or f"http://{settings.BASE_DOMAIN}:{settings.PORT}"
    return base.rstrip("/") + WEBHOOK_PATH


def vapi_server() -> dict[str, Any]:
    """Vapi's `server` for our webhook, naming how Vapi authenticates to it: the Custom
    Credential VAPI_SERVER_CREDENTIAL_ID (the secret never travels in a payload), else the
    secret in the X-Vapi-Secret header our webhook checks."""
    if settings.VAPI_SERVER_CREDENTIAL_ID:
        return {"url": webhook_url(), "credentialId": settings.VAPI_SERVER_CREDENTIAL_ID}
    return {"url": webhook_url(), "headers": {"X-Vapi-Secret": settings.VAPI_WEBHOOK_SECRET}}


def _function(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
        "server": vapi_server(),
    }


_STRING = {"type": "string"}
_MINUTES = {"type": "integer", "description": "Length of the visit in minutes, when no service is named."}
_SERVICE = {"type": "string", "description": "One of the business's services; its length is known."}
_STARTS_AT = {"type": "string", "description": "ISO 8601; without an offset, the business's local time."}


def tool_definitions() -> list[dict[str, Any]]:
    """The receptionist's tools, each calling our webhook (built per answer: settings may change)."""
    return [
        _function("find_customer", "Look up the caller, by the number they call from, among the customers.", {}, []),
        _function("create_customer", "Add the caller as a new customer.", {"name": _STRING}, ["name"]),
        _function(
            "check_availability",
            "Free appointment times on a local date, for a service or a length.",
            {
                "date": {"type": "string", "description": "YYYY-MM-DD, local date"},
                "service": _SERVICE,
                "duration_minutes": _MINUTES,
            },
            ["date"],
        ),
        _function(
            "book_appointment",
            "Book an appointment for the caller.",
            {
                "starts_at": _STARTS_AT,
                "duration_minutes": _MINUTES,
                "name": _STRING,
                "notes": _STRING,
                "service": _SERVICE,
                "property_id": {
                    "type": "integer",
                    "description": "One of the caller's addresses from find_customer; default: their main one.",
                },
                "address": {"type": "string", "description": "A new address the caller gives for this visit."},
            },
            ["starts_at"],
        ),
        _function(
            "reschedule_appointment",
            "Move the caller's appointment (their next one unless an id is given).",
            {"appointment_id": {"type": "integer"}, "starts_at": _STARTS_AT},
            ["starts_at"],
        ),
        _function(
            "cancel_appointment",
            "Cancel the caller's appointment (their next one unless an id is given).",
            {"appointment_id": {"type": "integer"}, "reason": _STRING},
            [],
        ),
    ]


def opening_hours(business_hours: dict[str, list[list[str]]]) -> str:
    days = []
    for day in WEEKDAYS:
        intervals = business_hours.get(day) or []
        hours = ", ".join(f"{opens}-{closes}" for opens, closes in intervals) or "closed"
        days.append(f"{DAY_NAMES[day]} {hours}")
    return "; ".join(days)


def greeting(tenant: Tenant, voice: VoiceSettings) -> str:
    recorded = "This call is recorded." if voice.voice_record_calls else "This call is not recorded."
    opening = voice.voice_greeting or f"Thank you for calling {tenant.name}."
    return f"{opening} I'm an automated assistant and can book, move or cancel appointments. {recorded} How can I help?"


def assistant_for(*, tenant: Tenant) -> dict[str, Any]:
    """Vapi's `{"assistant": {...}}` for the business, built fresh for each call (in its schema)."""
    stored = load_rows([VoiceSettings, AppointmentSettings])  # one query while Vapi waits
    voice, calendar = cast(VoiceSettings, stored[0]), cast(AppointmentSettings, stored[1])
    now = timezone.now()
    today = tenant.local_date(now)
    offered = bookable_services()[:MAX_SERVICES_NAMED]
    services = "; ".join(f"{service.name} ({service.duration_minutes} minutes)" for service in offered) or (
        "general appointments (60 minutes)"
    )
    prompt = (
        f"You are the phone receptionist of {tenant.name}, an automated assistant. Say so if asked. "
        f"Today is {today:%A} {today.isoformat()} in the business's time zone ({tenant.timezone}); "
        f"the local time is {now.astimezone(tenant.zone):%H:%M}. "
        f"Opening hours (local): {opening_hours(calendar.business_hours)}. "
        f"Services: {services}. Use the tools to look the caller up, check free times, and book, move or "
        "cancel appointments; never promise a time the tools did not confirm. Times you send have no offset "
        "and are local. Name the service when booking or checking times: its length is known. "
        "When a time is taken, offer the free times the tool names. When the caller has "
        "several addresses (find_customer lists them), ask which one the visit is at."
    )
    return {
        "assistant": {
            "name": f"{tenant.name} receptionist"[:40],
            "firstMessage": greeting(tenant, voice),
            "model": {
                "provider": "openai",
                "model": "gpt-4o",
                "messages": [{"role": "system", "content": prompt}],
                "tools": tool_definitions(),
            },
            "artifactPlan": {"recordingEnabled": voice.voice_record_calls},
            "serverMessages": SERVER_MESSAGES,
            "server": vapi_server(),
            "metadata": {"tenant_id": tenant.pk},
        }
    }


def closed_answer(tenant: Tenant | None) -> dict[str, Any]:
    """What a caller hears when no business can take the call (suspended, or an unknown number)."""
    who = tenant.name if tenant is not None and tenant.name else "This business"
    return {"error": f"Sorry, {who} cannot take calls right now. Please try again later. Goodbye."}
