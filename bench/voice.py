"""The receptionist's synchronous answers: how fast `POST /api/v1/voice/webhook` answers Vapi's
`assistant-request` (target p99 < 200 ms; Vapi gives up at 7.5 s) and `tool-calls`, each
verified (X-Vapi-Secret), stored once, routed and answered from the tenant's schema. Same
server set-up as bench/webhooks.py: gunicorn (1 process, 4 threads) on core 0, wrk on core 1,
scenarios interleaved, at 2 connections (latency, not queueing) and at 8 (saturating the core).
Every request carries a fresh call or tool-call id (wrk's Lua numbers them): each
assistant-request records a new inbound call; `availability` asks check_availability for a
day; `booking` books a free hour through the appointments services (a day open 09:00-17:00
every day, two staff, so 16 bookings a day: request i books day i/16); `replay` re-delivers
one tool call, answered from its stored result. Writes bench/results/voice.json.
"""

import os
import signal
import tempfile
import uuid
from datetime import UTC, datetime, timedelta

import django

from bench.http import ensure_wrk, run_wrk, server_env, start_server, summarize
from bench.setup import recreate_bench_database, write_results

PORT = 8897
DURATION = 6
ROUNDS = 2
PHONE_NUMBER_ID = "pn-bench-0001"
URL = f"http://127.0.0.1:{PORT}/api/v1/voice/webhook"
# Bookings start this far ahead, each run on days of its own.
FIRST_BOOKING_DAY = datetime.now(tz=UTC).date() + timedelta(days=30)
DAYS_PER_RUN = 400

LUA = """
local prefix = "%(prefix)s"
local first_day = os.time({year=%(year)d, month=%(month)d, day=%(day)d, hour=12})
local i = 0
local call = '"call": {"id": "%%s", "type": "inboundPhoneCall", "phoneNumberId": "%(phone)s",'
  .. ' "customer": {"number": "+1202555%%04d"}}'
local tool = '{"message": {"type": "tool-calls", ' .. call .. ', "toolCallList": [{"id": "%%s", "type": "function",'
  .. ' "function": {"name": "%%s", "arguments": %%q}}]}}'
request = function()
  i = i + 1
  local body
  if "%(kind)s" == "assistant" then
    body = '{"message": {"type": "assistant-request", ' .. string.format(call, prefix .. i, i %% 10000) .. '}}'
  elseif "%(kind)s" == "availability" then
    local day = os.date("!%%Y-%%m-%%d", first_day + (i %% 60) * 86400)
    body = string.format(tool, prefix .. "c", i %% 10000, prefix .. i, "check_availability",
      '{"date": "' .. day .. '", "duration_minutes": 60}')
  elseif "%(kind)s" == "booking" then
    local day = os.date("!%%Y-%%m-%%d", first_day + math.floor((i - 1) / 16) * 86400)
    local hour = 9 + (i - 1) %% 8
    body = string.format(tool, prefix .. "c" .. i, i %% 10000, prefix .. i, "book_appointment",
      string.format('{"starts_at": "%%sT%%02d:00", "duration_minutes": 60}', day, hour))
  else
    body = string.format(tool, prefix .. "replay", 1, prefix .. "replay", "check_availability",
      '{"date": "2030-01-07", "duration_minutes": 60}')
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Vapi-Secret"] = "%(secret)s"}, body)
end
"""


def seed() -> None:
    """A business open every day, with a Vapi number, an owner and one staff member."""
    from django_tenants.utils import schema_context

    from shared_apps.accounts import invitations
    from shared_apps.accounts.models import Membership
    from shared_apps.accounts.services import register_business
    from shared_apps.tenants.services import update_tenant_settings
    from tenant_apps.appointments.models import WEEKDAYS
    from tenant_apps.pricebook.services import create_price_book_item

    tokens = register_business(business_name="Bench Voice", email="voice@bench.test", password="bench-password-1")
    invitation = invitations.create_invitation(
        tenant_id=tokens.tenant.pk,
        actor_role=Membership.Role.OWNER,
        inviter_id=tokens.user.pk,
        email="staff@bench.test",
        role=Membership.Role.STAFF,
    )
    invitations.accept_invitation(token=invitation.token, password="bench-password-1")
    update_tenant_settings(
        tenant_id=tokens.tenant.pk,
        changes={
            "vapi_phone_number_id": PHONE_NUMBER_ID,
            "business_hours": {day: [["09:00", "17:00"]] for day in WEEKDAYS},
        },
    )
    with schema_context(tokens.tenant.schema_name):
        create_price_book_item(
            data={"kind": "service", "name": "Leak repair", "unit_price": 9000, "duration_minutes": 60}
        )


def queries_per_answer(secret: str) -> dict[str, int]:
    """SQL statements (BEGIN/COMMIT/SAVEPOINT included) of one answer of each kind, in this
    process: the part of the latency that does not depend on the machine's load."""
    import json

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call = {"type": "inboundPhoneCall", "phoneNumberId": PHONE_NUMBER_ID, "customer": {"number": "+12025550199"}}
    day = (FIRST_BOOKING_DAY - timedelta(days=1)).isoformat()
    tool = {
        "id": "count-tool",
        "function": {
            "name": "book_appointment",
            "arguments": json.dumps({"starts_at": f"{day}T09:00", "duration_minutes": 60}),
        },
    }
    messages = {
        "assistant_request": {"type": "assistant-request", "call": {**call, "id": "count-1"}},
        "tool_calls_booking": {"type": "tool-calls", "call": {**call, "id": "count-1"}, "toolCallList": [tool]},
        "tool_calls_replay": {"type": "tool-calls", "call": {**call, "id": "count-1"}, "toolCallList": [tool]},
    }
    counts = {}
    for name, message in messages.items():
        with CaptureQueriesContext(connection) as captured:
            response = Client().post(
                "/api/v1/voice/webhook",
                data={"message": message},
                content_type="application/json",
                HTTP_HOST="localhost",
                HTTP_X_VAPI_SECRET=secret,
            )
        assert response.status_code == 200, response.content
        counts[name] = len(captured.captured_queries)
    return counts


def lua_script(kind: str, run: int, secret: str) -> str:
    first = FIRST_BOOKING_DAY + timedelta(days=run * DAYS_PER_RUN)
    values = {
        "prefix": f"bench-{kind}-{run}-{uuid.uuid4().hex[:6]}-",
        "year": first.year,
        "month": first.month,
        "day": first.day,
        "phone": PHONE_NUMBER_ID,
        "kind": kind,
        "secret": secret,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(LUA % values)
    return lua.name


def main() -> None:
    wrk = ensure_wrk()
    bench_url = recreate_bench_database()
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    from django.conf import settings

    seed()
    env = server_env(bench_url, port=PORT)
    # name -> (script kind, connections)
    scenarios = {
        "assistant_request": ("assistant", 2),
        "assistant_request_8_connections": ("assistant", 8),
        "tool_calls_availability": ("availability", 2),
        "tool_calls_booking": ("booking", 2),
        "tool_calls_booking_8_connections": ("booking", 8),
        "tool_calls_replay": ("replay", 2),
    }
    scripts = {
        (name, index): lua_script(kind, index * len(scenarios) + number, settings.VAPI_WEBHOOK_SECRET)
        for index in range(ROUNDS)
        for number, (name, (kind, _)) in enumerate(scenarios.items())
    }
    warm_up = lua_script("replay", 999, settings.VAPI_WEBHOOK_SECRET)

    load_before = os.getloadavg()[0]
    server = start_server(env, port=PORT)
    try:
        run_wrk(wrk, URL, {}, warm_up, 2, connections=2)
        samples: dict[str, list[dict]] = {name: [] for name in scenarios}
        for index in range(ROUNDS):
            for name, (_, connections) in scenarios.items():
                samples[name].append(run_wrk(wrk, URL, {}, scripts[(name, index)], DURATION, connections=connections))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        for path in [*scripts.values(), warm_up]:
            os.unlink(path)

    from django_tenants.utils import tenant_context

    from shared_apps.tenants.models import Tenant
    from shared_apps.webhooks.models import WebhookEvent
    from tenant_apps.appointments.models import Appointment
    from tenant_apps.voice.models import Call, ToolCallResult

    with tenant_context(Tenant.objects.get(slug="bench-voice")):
        rows = {
            "calls": Call.objects.count(),
            "tool_results": ToolCallResult.objects.count(),
            "appointments": Appointment.objects.count(),
        }
    summary = summarize(samples)
    figures = {
        "queries_per_answer": queries_per_answer(settings.VAPI_WEBHOOK_SECRET),
        "server": "gunicorn gthread, 1 process x 4 threads, pinned to core 0",
        "load": f"wrk 1 thread, 2 or 8 connections, {DURATION}s x {ROUNDS} interleaved, core 1",
        "secret_checks": "on (X-Vapi-Secret)",
        # The machine's 1-minute load average (2 cores) before and after: other work skews it.
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "stored_events": WebhookEvent.objects.count(),
        "rows": rows,
        "scenarios": summary,
    }
    write_results("voice", figures)
    print(f"{'scenario':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, row in summary.items():
        print(
            f"{name:<34} {row['requests_per_second']:>8.1f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}"
            f" {row['errors']:>7}"
        )
    print(f"stored events: {figures['stored_events']}, rows: {rows}")


if __name__ == "__main__":
    main()
