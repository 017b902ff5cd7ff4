"""Card payment events, in two phases on one server (gunicorn, 1 process x 4 threads, core 0):

1. acknowledgement: BURST signed `payment_intent.succeeded` events posted by CLIENTS threads as
   fast as `POST /api/v1/payments/webhook` answers (signature check, routing by connected
   account, insert-once, outbox row), with no worker running;
2. webhook to ledger: then the scheduler (outbox relay, 1 s tick) and a Dramatiq worker (1 x 2
   threads) start, drain phase 1's backlog, and PACED more events are posted at RATE per
   second; for each, the time from its acknowledgement to its ledger row (the handler re-reads
   the intent from the Stripe sandbox and writes the payment under the invoice's lock).

Invoices are paid in the sandbox first (its events kept, not sent). The worker, scheduler,
sandbox and clients share core 1: figures are of this 2-core machine. Writes
bench/results/stripe_webhooks.json.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from statistics import median, quantiles

import django
import requests

from bench.http import start_server
from bench.setup import ROOT, recreate_bench_database, write_results

PORT = 8897
BURST = 300
PACED = 60
RATE = 4
EVENTS = BURST + PACED
CLIENTS = 4
URL = f"http://127.0.0.1:{PORT}/api/v1/payments/webhook"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed(sandbox_url: str) -> str:
    """A business with a connected account and EVENTS invoices paid in the sandbox (their
    events kept by the sandbox, not delivered); its schema name."""
    import requests
    import stripe
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.services import register_business
    from tenant_apps.billing.items import ItemInput
    from tenant_apps.customers.models import Customer
    from tenant_apps.invoices import services as invoices
    from tenant_apps.invoices.models import Invoice
    from tenant_apps.payments import connect, intents
    from tenant_apps.payments.gateway import as_dict, stripe_client

    tokens = register_business(business_name="Bench Cards", email="cards@bench.test", password="bench-password-1")
    tenant = tokens.tenant
    browser = stripe.StripeClient("sk_test_browser", base_addresses={"api": sandbox_url})
    labour = ItemInput(description="Labour", quantity=Decimal(2), unit_price=1999, tax_rate=Decimal(0), discount=0)
    with tenant_context(tenant):
        onboarding = connect.connect_stripe_account(tenant=tenant, return_url="http://x", refresh_url="http://x")
        requests.get(onboarding, allow_redirects=False, timeout=10)  # the owner completes onboarding
        account = connect.connected_account()
        assert account is not None
        # What the account.updated that follows does (its event is not delivered here).
        connect.update_account_state(
            account=account, data=as_dict(stripe_client().v1.accounts.retrieve(account.account_id))
        )
        for index in range(EVENTS):
            customer = Customer.objects.create(name=f"Bench customer {index}")
            draft = invoices.create_invoice(tenant=tenant, customer_id=customer.pk, items=[labour])
            invoices.change_invoice_status(tenant=tenant, invoice_id=draft.pk, status=Invoice.Status.SENT)
            attempt = intents.create_payment_intent(invoice_id=draft.pk)
            browser.v1.payment_intents.confirm(
                attempt.payment_intent_id,
                params={"payment_method": "pm_card_visa"},
                options={"stripe_account": account.account_id},
            )
    return tenant.schema_name


def main() -> None:
    sandbox_port = free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    bench_url = recreate_bench_database()
    os.environ.update(
        DATABASE_URL=bench_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        STRIPE_SECRET_KEY="",
        STRIPE_SANDBOX_URL=sandbox_url,
        TENANT_POOL_SIZE="0",
    )
    django.setup()
    import stripe
    from django.conf import settings
    from django_tenants.utils import schema_context

    from devtools.stripe_sandbox import StripeSandbox, serve
    from tenant_apps.payments.models import Payment

    sandbox = StripeSandbox(base_url=sandbox_url, deliver_events=False)
    server = serve(sandbox_port, sandbox=sandbox)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    schema_name = seed(sandbox_url)
    events = [event for event in sandbox.events if event["type"] == "payment_intent.succeeded"]
    assert len(events) == EVENTS

    env = {
        **os.environ,
        "PORT": str(PORT),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "4",
        "GUNICORN_ACCESS_LOG": "",
    }
    acked_at: dict[str, float] = {}
    ack_ms: list[float] = []
    session = requests.Session()

    def post(event: dict) -> int:
        payload = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(payload, settings.STRIPE_CONNECT_WEBHOOK_SECRET)
        started = time.perf_counter()
        status = session.post(
            URL, data=payload, headers={"Content-Type": "application/json", "Stripe-Signature": header}, timeout=30
        ).status_code
        ack_ms.append((time.perf_counter() - started) * 1000)
        acked_at[event["data"]["object"]["id"]] = time.time()
        return status

    processes = [start_server(env, port=PORT)]
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = list(pool.map(post, events[:BURST]))
        ack_seconds = time.perf_counter() - started
        burst_ack_ms = list(ack_ms)
        background = (
            [f"{sys.prefix}/bin/dramatiq", "tasks.worker", "--processes", "1", "--threads", "2"],
            [sys.executable, "manage.py", "run_scheduler"],
        )
        processes += [
            subprocess.Popen(
                ["taskset", "-c", "1", *command],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            for command in background
        ]
        with schema_context(schema_name):
            deadline = time.time() + 300
            while Payment.objects.count() < BURST and time.time() < deadline:
                time.sleep(0.5)
            drained_seconds = time.perf_counter() - started - ack_seconds
            for event in events[BURST:]:
                statuses.append(post(event))
                time.sleep(1 / RATE)
            while Payment.objects.count() < EVENTS and time.time() < deadline:
                time.sleep(0.2)
            recorded = {p.provider_id: p.created_at.timestamp() for p in Payment.objects.all()}
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        server.shutdown()

    paced = [event["data"]["object"]["id"] for event in events[BURST:]]
    latencies = sorted((recorded[pi] - acked_at[pi]) * 1000 for pi in paced if pi in recorded)
    figures = {
        "server": "gunicorn gthread, 1 process x 4 threads, core 0; worker 1x2 threads + scheduler on core 1",
        "acknowledged_200": statuses.count(200),
        "ledger_rows": len(recorded),
        "burst": {
            "events": BURST,
            "client_threads": CLIENTS,
            "acknowledged_per_second": round(BURST / ack_seconds, 1),
            "ack_p50_ms": round(median(burst_ack_ms), 2),
            "ack_p99_ms": round(quantiles(burst_ack_ms, n=100)[98], 2),
            "backlog_drained_seconds": round(drained_seconds, 1),
        },
        "paced": {
            "events": PACED,
            "per_second": RATE,
            "webhook_to_ledger_p50_ms": round(median(latencies), 1) if latencies else None,
            "webhook_to_ledger_p99_ms": round(quantiles(latencies, n=100)[98], 1) if len(latencies) > 1 else None,
            "note": "includes the scheduler's 1 s outbox relay tick and the re-read from the sandbox",
        },
    }
    path = write_results("stripe_webhooks", figures)
    print(json.dumps(figures, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
