"""Play a scripted inbound call against our Vapi webhook, as Vapi would send it, so a developer
can watch the receptionist book an appointment without a phone or a Vapi account:
assistant-request, find_customer, check_availability on the next open day, book_appointment
of its first free slot, status-update ended, end-of-call-report. Each message carries the
server secret (VAPI_WEBHOOK_SECRET) like Vapi's; `--shape` picks which of the tool-call shapes
Vapi has sent or documented the tool calls come in (SHAPES)."""

import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

# This command plays Vapi, posting to our own webhook: it is not a call to Vapi's API, so it
# uses httpx itself rather than the voice gateway (which only talks to Vapi).
import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from shared_apps.tenants import services as tenant_services
from shared_apps.tenants.models import Tenant
from tenant_apps.voice.assistant import webhook_url

# The first days that can have a free slot are looked at, then the script gives up.
DAYS_TRIED = 14


def _function_call(tool_call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": tool_call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


# A tool call's fields in a `tool-calls` message, in each shape: Vapi's types (both lists), its
# docs' toolWithToolCallList alone ({name, toolCall: {id, parameters}}), toolCallList items with
# name and arguments at the top, and the older `toolCalls`.
SHAPES: dict[str, Callable[[str, str, dict[str, Any]], dict[str, Any]]] = {
    "sdk": lambda tool_id, name, arguments: {
        "toolCallList": [_function_call(tool_id, name, arguments)],
        "toolWithToolCallList": [
            {"type": "function", "function": {"name": name}, "toolCall": _function_call(tool_id, name, arguments)}
        ],
    },
    "tool-with-tool-call-list": lambda tool_id, name, arguments: {
        "toolWithToolCallList": [{"name": name, "toolCall": {"id": tool_id, "parameters": arguments}}]
    },
    "tool-call-list-flat": lambda tool_id, name, arguments: {
        "toolCallList": [{"id": tool_id, "name": name, "arguments": arguments}]
    },
    "tool-calls": lambda tool_id, name, arguments: {
        "toolCalls": [{"id": tool_id, "type": "function", "function": {"name": name, "arguments": arguments}}]
    },
}


class Command(BaseCommand):
    help = "Play a scripted inbound call (Vapi's messages) against the voice webhook of a running server."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", default="demo", help="slug of the business called (default: demo)")
        parser.add_argument("--caller", default="+12025550143", help="the caller's number (E.164)")
        parser.add_argument("--name", default="Sandbox Caller", help="the name the caller gives")
        parser.add_argument("--url", default="", help="the webhook (default: the public base URL's)")
        parser.add_argument("--shape", default="sdk", choices=sorted(SHAPES), help="how tool calls are sent")

    def handle(self, *args, **options):
        tenant = Tenant.objects.active().filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No active business {options['tenant']!r}.")
        phone_number_id = tenant_services.tenant_settings(tenant=tenant)["vapi_phone_number_id"]
        if not phone_number_id:
            # A sandbox number of its own, claimed like any other (unique across businesses).
            phone_number_id = tenant_services.update_tenant_settings(
                tenant_id=tenant.pk, changes={"vapi_phone_number_id": f"sandbox-{tenant.slug}"}
            )["vapi_phone_number_id"]
        self.url = options["url"] or webhook_url()
        self.shape = SHAPES[options["shape"]]
        self.call = {
            "id": f"sandbox-{uuid.uuid4()}",
            "orgId": "org-sandbox",
            "type": "inboundPhoneCall",
            "phoneNumberId": phone_number_id,
            "customer": {"number": options["caller"]},
        }
        transcript = []
        started = timezone.now()

        greeting = self.send("assistant-request")
        if "assistant" not in greeting:
            raise CommandError(f"The business does not take the call: {greeting}")
        transcript.append(f"AI: {greeting['assistant']['firstMessage']}")
        self.say("assistant", greeting["assistant"]["firstMessage"])

        known = self.tool("find_customer", {})
        self.say("find_customer", json.dumps(known))

        slots = {}
        day = tenant.local_date(started)
        for _ in range(DAYS_TRIED):
            day += timedelta(days=1)
            slots = self.tool("check_availability", {"date": day.isoformat(), "duration_minutes": 60})
            if slots.get("slots"):
                break
        if not slots.get("slots"):
            raise CommandError(f"No free slot in the next {DAYS_TRIED} days.")
        transcript.append(f"User: Can someone come on {day:%A}? AI: {slots['message']}")
        self.say("check_availability", slots["message"])

        booked = self.tool(
            "book_appointment",
            {
                "starts_at": slots["slots"][0],
                "duration_minutes": 60,
                "name": options["name"],
                "service": "Sandbox visit",
            },
        )
        transcript.append(f"User: The first one, please. AI: {booked.get('message', booked)}")
        self.say("book_appointment", json.dumps(booked))

        ended = timezone.now()
        self.send("status-update", status="ended", endedReason="customer-ended-call")
        self.send(
            "end-of-call-report",
            endedReason="customer-ended-call",
            startedAt=started.isoformat(),
            endedAt=ended.isoformat(),
            cost=0.05,
            artifact={"transcript": "\n".join(transcript), "messages": []},
            analysis={"summary": f"{options['name']} booked: {booked.get('message', 'nothing')}"},
        )
        self.stdout.write(
            self.style.SUCCESS(f"Call {self.call['id']} ended; appointment {booked.get('appointment_id')}")
        )

    def send(self, message_type: str, **fields: Any) -> dict[str, Any]:
        message = {"type": message_type, "call": self.call, "customer": self.call["customer"], **fields}
        response = httpx.post(
            self.url, json={"message": message}, headers={"X-Vapi-Secret": settings.VAPI_WEBHOOK_SECRET}, timeout=10
        )
        if response.status_code != 200:
            raise CommandError(f"{message_type}: the webhook answered {response.status_code} {response.text[:300]}")
        return response.json()

    def tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        answer = self.send("tool-calls", **self.shape(f"tool-{uuid.uuid4()}", name, arguments))
        [item] = answer["results"]
        return json.loads(item["result"]) if "result" in item else {"error": item.get("error")}

    def say(self, who: str, text: str) -> None:
        self.stdout.write(f"[{who}] {text}")
