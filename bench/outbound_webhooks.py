"""Outbound webhooks: 1,000 domain events fanned out to three endpoints on the loopback, from
`emit` to the receiver, through the real path: the outbox, the relay, Dramatiq on Redis
(in-process workers as deployed: 8 threads on the main queues, 2 on the webhook slow lane),
the event subscriber, one delivery job per endpoint, signing, the SSRF guard and httpx. The
receivers run in a subprocess (so they do not share this process's interpreter lock) and note
when each delivery arrived; the latency of a delivery is its arrival minus the event's
`occurred_at` (the body's `timestamp`).

Two scenarios, each on fresh endpoints: three healthy endpoints; then two healthy and one
that hangs (never answers; each attempt waits out the 10 s timeout). The point of the second
is that the healthy endpoints' p99 does not move: once an attempt to the hanging endpoint has
been in flight for SLOW_AFTER, or has failed, its attempts run in the slow lane on their own
threads; only the attempts already in flight when it started hanging hold main-lane threads.
Events are emitted as one burst (50 per transaction), so latency includes the queue the burst
builds. With `paced`, 150 events at 5 a second instead (one per transaction), well below what
the machine drains, so latency is a delivery's own delay rather than the drain of a burst.

`.venv/bin/python -m bench.outbound_webhooks [paced]`; writes bench/results/outbound_webhooks.json
(with `paced`, outbound_webhooks_paced.json).
"""

import json
import subprocess
import sys
import threading
import time
import urllib.request

EVENTS = 1_000
BATCH = 50
PACED_EVENTS = 150
PACED_PER_SECOND = 5
WORKER_THREADS = 8
SLOW_LANE_THREADS = 2
DEADLINE_SECONDS = 150

RECEIVER = r"""
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from datetime import datetime

arrivals = {}
lock = threading.Lock()

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        arrived = time.time()
        port = self.server.server_address[1]
        if port == HANGING:
            time.sleep(60)
            return
        occurred = datetime.fromisoformat(json.loads(body)["timestamp"].replace("Z", "+00:00")).timestamp()
        with lock:
            arrivals.setdefault(port, {})[self.headers["webhook-id"]] = arrived - occurred
        self.send_response(204)
        self.end_headers()

    def do_GET(self):
        with lock:
            answer = json.dumps({str(port): list(latencies.values()) for port, latencies in arrivals.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass

servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(3)]
HANGING = servers[2].server_address[1] if sys.argv[1] == "hang-third" else None
for server in servers:
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
print(json.dumps([server.server_address[1] for server in servers]), flush=True)
sys.stdin.read()
"""


def start_receivers(*, hanging: bool) -> tuple[subprocess.Popen, list[int]]:
    """Three receivers in a subprocess (it ends when its stdin closes); with `hanging`, the
    third never answers."""
    mode = "hang-third" if hanging else "answer-all"
    process = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def stats(port: int) -> dict[int, list[float]]:
    """Latencies (seconds) of the deliveries each receiver got, by port."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
        return {int(key): value for key, value in json.loads(answer.read()).items()}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def relay_forever(stop: threading.Event) -> None:
    """The scheduler's relay, as `run_scheduler` runs it, on a short tick."""
    from django.db import connection

    from tasks.outbox import relay_outbox

    while not stop.is_set():
        if not relay_outbox():
            time.sleep(0.02)
    connection.close()


def scenario(*, schema_name: str, hanging: bool, paced: bool) -> dict:
    from django.db import transaction
    from django_tenants.utils import schema_context

    from shared_apps.events.services import emit
    from shared_apps.outbox.models import OutboxMessage
    from tenant_apps.integrations import services
    from tenant_apps.integrations.models import WebhookAttempt, WebhookEndpoint

    events, batch = (PACED_EVENTS, 1) if paced else (EVENTS, BATCH)
    process, ports = start_receivers(hanging=hanging)
    healthy = ports[:2] if hanging else ports
    try:
        with schema_context(schema_name):
            WebhookEndpoint.objects.all().delete()
            for port in ports:
                services.create_endpoint(url=f"http://127.0.0.1:{port}/hooks", event_types=["customer.created"])
            started = time.time()
            for first in range(0, events, batch):
                if paced:
                    time.sleep(max(0.0, started + first / PACED_PER_SECOND - time.time()))
                with transaction.atomic():
                    for number in range(first, first + batch):
                        emit("customer.created", customer_id=number + 1, name=f"Customer {number}")
        emitted_in = time.time() - started
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            got = stats(ports[0])
            if all(len(got.get(port, [])) >= events for port in healthy):
                break
            time.sleep(0.5)
        finished = time.time()
        got = stats(ports[0])
        # What the hanging endpoint cost the main lane: the jobs queued there for its deliveries
        # (each a turn of a main-lane thread), beside all of its attempts (each up to the timeout).
        with schema_context(schema_name):
            third = WebhookEndpoint.objects.get(url__contains=f":{ports[2]}/")
            third_deliveries = list(third.deliveries.values_list("pk", flat=True))
            third_attempts = WebhookAttempt.objects.filter(delivery__endpoint=third).count()
        third_main_lane_jobs = OutboxMessage.objects.filter(
            actor_name=services.DELIVER_ACTOR, schema_name=schema_name, kwargs__delivery_id__in=third_deliveries
        ).count()
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)
    latencies = [latency for port in healthy for latency in got.get(port, [])]
    delivered = len(latencies)
    return {
        "endpoints": len(ports),
        "hanging_endpoints": int(hanging),
        "events": events,
        "emit_seconds": round(emitted_in, 2),
        "healthy_deliveries": delivered,
        "healthy_deliveries_expected": events * len(healthy),
        "hanging_endpoint_answers": len(got.get(ports[2], [])) if hanging else None,
        "third_endpoint_attempts": third_attempts,
        "third_endpoint_main_lane_jobs": third_main_lane_jobs,
        "deliveries_per_second": round(delivered / (finished - started), 1),
        "latency_p50_ms": round(percentile(latencies, 0.5) * 1000),
        "latency_p99_ms": round(percentile(latencies, 0.99) * 1000),
        "latency_max_ms": round(max(latencies) * 1000),
    }


def main(*, paced: bool = False) -> dict:
    from django.conf import settings
    from dramatiq import Worker

    from shared_apps.accounts.services import register_business
    from tasks import actors  # noqa: F401 - declares the actors the worker runs
    from tasks.broker import SLOW_LANE_QUEUE, broker

    tokens = register_business(business_name="Bench Hooks", email="hooks@bench.test", password="bench-password-1")
    schema_name = tokens.tenant.schema_name
    broker.flush_all()
    main_queues = set(broker.get_declared_queues()) - {SLOW_LANE_QUEUE}
    workers = [
        Worker(broker, queues=main_queues, worker_threads=WORKER_THREADS, worker_timeout=100),
        Worker(broker, queues={SLOW_LANE_QUEUE}, worker_threads=SLOW_LANE_THREADS, worker_timeout=100),
    ]
    for worker in workers:
        worker.start()
    stop = threading.Event()
    relay = threading.Thread(target=relay_forever, args=(stop,), daemon=True)
    relay.start()
    try:
        figures = {
            "worker_threads": WORKER_THREADS,
            "slow_lane_threads": SLOW_LANE_THREADS,
            "endpoint_concurrency": settings.WEBHOOK_ENDPOINT_CONCURRENCY,
            "timeout_seconds": settings.WEBHOOK_TIMEOUT,
            "events_per_second": PACED_PER_SECOND if paced else None,
            "all_healthy": scenario(schema_name=schema_name, hanging=False, paced=paced),
            "one_hanging": scenario(schema_name=schema_name, hanging=True, paced=paced),
        }
    finally:
        stop.set()
        relay.join(timeout=10)
        for worker in workers:
            worker.stop()
        broker.flush_all()
    return figures


def print_figures(figures: dict) -> None:
    print(f"{'scenario':<14}{'delivered':>12}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for name in ("all_healthy", "one_hanging"):
        row = figures[name]
        delivered = f"{row['healthy_deliveries']}/{row['healthy_deliveries_expected']}"
        print(
            f"{name:<14}{delivered:>12}{row['deliveries_per_second']:>8}"
            f"{row['latency_p50_ms']:>9}{row['latency_p99_ms']:>9}{row['latency_max_ms']:>9}"
        )


if __name__ == "__main__":
    from bench.setup import run_in_process

    paced = sys.argv[1:] == ["paced"]
    run_in_process(
        "outbound_webhooks_paced" if paced else "outbound_webhooks", lambda: main(paced=paced), print_figures
    )
