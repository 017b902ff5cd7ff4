"""Webhook ingest: how fast `POST /api/v1/sms/webhook` acknowledges signed Twilio deliveries
(signature check, routing lookup, insert-once, outbox row; processing is left to the worker,
which does not run here). Same server set-up as bench/http.py: gunicorn (1 process, 4
threads) on core 0, wrk on core 1, scenarios interleaved. Every request of the `new_events`
scenarios carries a fresh MessageSid (each run its own pre-signed set: wrk cannot HMAC), at 8
connections (saturating the core, so latency is mostly queueing) and at 2; `duplicates`
re-sends one already stored. `/health` is the floor of the same server.
Writes bench/results/webhooks.json.
"""

import json
import os
import signal
import tempfile
from urllib.parse import urlencode

import django

from bench.http import ensure_wrk, run_wrk, server_env, start_server, summarize
from bench.setup import recreate_bench_database, write_results

PORT = 8898
DURATION = 8
ROUNDS = 3
SENDER = "+12025550100"
# Fresh deliveries per run: far more than one run can send at these rates.
PRESIGNED_PER_RUN = 8_000
URL = f"http://127.0.0.1:{PORT}/api/v1/sms/webhook"


def seed() -> None:
    """A tenant owning the sender number the deliveries are addressed to."""
    from shared_apps.accounts.services import register_business
    from shared_apps.tenants.services import update_tenant_settings

    tokens = register_business(business_name="Bench Texts", email="sms@bench.test", password="bench-password-1")
    update_tenant_settings(tenant_id=tokens.tenant.pk, changes={"sms_sender": SENDER})


def signed_lua(count: int, *, offset: int) -> str:
    """A wrk script cycling through `count` signed inbound deliveries."""
    from django.conf import settings
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    bodies, signatures = [], []
    for index in range(offset, offset + count):
        params = {
            "MessageSid": f"SM{index:032d}",
            "AccountSid": "AC" + "0" * 32,
            "From": "+12025550111",
            "To": SENDER,
            "Body": "Can you come on Tuesday at 10?",
            "NumSegments": "1",
            "SmsStatus": "received",
        }
        bodies.append(urlencode(params))
        signatures.append(validator.compute_signature(URL, params))
    return (
        f"local bodies = {{{','.join(json.dumps(b) for b in bodies)}}}\n"
        f"local signatures = {{{','.join(json.dumps(s) for s in signatures)}}}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #bodies + 1\n"
        '  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded",'
        ' ["X-Twilio-Signature"] = signatures[i]}, bodies[i])\n'
        "end\n"
    )


def main() -> None:
    wrk = ensure_wrk()
    bench_url = recreate_bench_database()
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    seed()
    # (scenario, round) -> script; the duplicate's one delivery is stored by the warm-up.
    scripts: dict[tuple[str, int], str] = {}
    runs = [(name, index) for index in range(ROUNDS) for name in ("new_events", "new_events_2_connections")]
    for number, key in enumerate(runs):
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
            lua.write(signed_lua(PRESIGNED_PER_RUN, offset=1 + number * PRESIGNED_PER_RUN))
        scripts[key] = lua.name
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(signed_lua(1, offset=0))
    for index in range(ROUNDS):
        scripts[("duplicates", index)] = lua.name
    env = server_env(bench_url, port=PORT)
    # name -> (url, connections)
    scenarios = {
        "health": (f"http://127.0.0.1:{PORT}/api/v1/health", 8),
        "new_events": (URL, 8),
        "new_events_2_connections": (URL, 2),
        "duplicates": (URL, 8),
    }

    server = start_server(env, port=PORT)
    try:
        run_wrk(wrk, URL, {}, scripts[("duplicates", 0)], 2)  # warm-up, stores the duplicate once
        samples: dict[str, list[dict]] = {name: [] for name in scenarios}
        for index in range(ROUNDS):
            for name, (url, connections) in scenarios.items():
                script = scripts.get((name, index))
                samples[name].append(run_wrk(wrk, url, {}, script, DURATION, connections=connections))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        for path in set(scripts.values()):
            os.unlink(path)

    from shared_apps.outbox.models import OutboxMessage
    from shared_apps.webhooks.models import WebhookEvent

    summary = summarize(samples)
    sent_new = sum(
        round(s["requests_per_second"] * DURATION)
        for name in ("new_events", "new_events_2_connections")
        for s in samples[name]
    )
    figures = {
        "server": "gunicorn gthread, 1 process x 4 threads, pinned to core 0",
        "load": f"wrk 1 thread, 8 or 2 connections, {DURATION}s x {ROUNDS} interleaved, core 1",
        "signature_checks": "on (X-Twilio-Signature, RequestValidator)",
        "stored_events": WebhookEvent.objects.count(),
        "outbox_rows": OutboxMessage.objects.filter(actor_name="process_webhook_event").count(),
        "new_events_sent_approx": sent_new,
        "presigned_deliveries_per_run": PRESIGNED_PER_RUN,
        "scenarios": summary,
    }
    write_results("webhooks", figures)
    print(f"{'scenario':<26} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, row in summary.items():
        print(
            f"{name:<26} {row['requests_per_second']:>8.1f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}"
            f" {row['errors']:>7}"
        )
    print(
        f"stored events: {figures['stored_events']} (new deliveries sent ~{sent_new}, + 1 duplicate),"
        f" outbox rows: {figures['outbox_rows']}"
    )


if __name__ == "__main__":
    main()
