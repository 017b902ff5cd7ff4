"""Live updates at scale: many sockets across many businesses on one ASGI process (uvicorn,
config.asgi, as `make run` starts it), events published to the businesses' streams as the
realtime subscriber publishes them, received by real WebSocket clients.

Measures the server's memory per open socket (its RSS with the sockets open, minus with one),
the time from publishing an event to a client receiving it (p50/p95/p99/max, one clock: both
run here), events lost (expected deliveries minus received) and events of another business
received (must be 0).

    python -m bench.realtime [--tenants 100] [--sockets 1000] [--events 2000] [--rate 100] [--results realtime]

Each business gets an owner and a staff member, half its sockets each; every event
(customer.created, which both roles see) goes to all its business's sockets. The socket
server reads only public-schema rows (hosts, memberships), so businesses are created as rows
without schemas here, which keeps setup to seconds."""

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

from bench.setup import ROOT, run_in_process

PASSWORD_HASH = "!"  # nobody logs in: the bench issues tokens directly
# As deploy/Procfile runs it: no per-message compression (docs/realtime.md says why).
UVICORN = (sys.executable, "-m", "uvicorn", "config.asgi:application", "--ws-per-message-deflate", "false")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100, help="events published per second")
    parser.add_argument("--results", default="realtime", help="written to bench/results/<results>.json")
    return parser.parse_args()


def _businesses(count: int) -> list[dict[str, Any]]:
    """`count` active businesses with a host, an owner and a staff member, and their tokens."""
    from django.conf import settings

    from shared_apps.accounts.models import Membership, User
    from shared_apps.accounts.tokens import issue_access_token
    from shared_apps.tenants.models import Domain, Tenant

    run = uuid.uuid4().hex[:6]
    tenants = Tenant.objects.bulk_create(
        [
            Tenant(schema_name=f"t_rt_{run}_{n}", slug=f"rt-{run}-{n}", name=f"Bench {n}", status=Tenant.Status.ACTIVE)
            for n in range(count)
        ]
    )
    Domain.objects.bulk_create(
        [Domain(domain=f"{tenant.slug}.{settings.BASE_DOMAIN}", tenant=tenant, is_primary=True) for tenant in tenants]
    )
    users = User.objects.bulk_create(
        [
            User(email=f"{role}-{n}-{run}@bench.test", password=PASSWORD_HASH)
            for n in range(count)
            for role in ("owner", "staff")
        ]
    )
    Membership.objects.bulk_create(
        [
            Membership(user=users[2 * n + offset], tenant=tenant, role=role)
            for n, tenant in enumerate(tenants)
            for offset, role in enumerate((Membership.Role.OWNER, Membership.Role.STAFF))
        ]
    )
    return [
        {
            "schema": tenant.schema_name,
            "host": f"{tenant.slug}.{settings.BASE_DOMAIN}",
            "tokens": [
                issue_access_token(user_id=users[2 * n + offset].pk, tenant_schema=tenant.schema_name, role=role)
                for offset, role in enumerate(("owner", "staff"))
            ],
        }
        for n, tenant in enumerate(tenants)
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1]) * 1024


class Clients:
    """The bench's WebSocket clients: what each received, and when."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.received: dict[int, set[str]] = {}
        self.foreign = 0
        self.closed: list[int | None] = []

    async def open(self, port: int, business: dict[str, Any], index: int, token: str) -> Any:
        from websockets.asyncio.client import connect

        from api.realtime import PROTOCOL

        sock = socket.create_connection(("127.0.0.1", port))
        sock.setblocking(False)
        ws = await connect(
            f"ws://{business['host']}:{port}/ws/v1/events",
            sock=sock,
            subprotocols=[PROTOCOL, f"bearer.{token}"],
            open_timeout=60,
            ping_interval=None,
            max_queue=None,
        )
        ready = json.loads(await ws.recv())
        assert ready["type"] == "ready", ready
        self.received[index] = set()
        return ws

    async def listen(self, ws: Any, index: int, schema: str) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in ws:
                now = time.monotonic()
                message = json.loads(raw)
                if message["type"] != "event":
                    continue
                origin, _, sent_at = message["event"]["payload"]["name"].partition("@")
                if origin != schema:
                    self.foreign += 1
                self.received[index].add(message["event"]["id"])
                self.latencies.append(now - float(sent_at))
        except ConnectionClosed as closed:
            self.closed.append(closed.rcvd.code if closed.rcvd else None)


def _publish(business: dict[str, Any], event_id: uuid.UUID) -> None:
    from django.utils import timezone

    from shared_apps.events.catalogue import EVENT_TYPES
    from shared_apps.events.services import DomainEvent
    from shared_apps.realtime import streams

    # The monotonic clock: the publisher and the clients run in this process.
    payload = {"customer_id": 1, "name": f"{business['schema']}@{time.monotonic():.6f}"}
    streams.publish_event(
        DomainEvent(
            id=event_id,
            type="customer.created",
            version=1,
            tenant=business["schema"],
            occurred_at=timezone.now(),
            actor="system",
            payload=EVENT_TYPES["customer.created"].payload.model_validate(payload),
        )
    )


async def _run(args: argparse.Namespace, port: int, server: subprocess.Popen, businesses: list[dict]) -> dict:
    # The machine is shared: its load before this run added its own (the stamp is taken after).
    load_before = round(os.getloadavg()[0], 1)
    clients = Clients()
    per_business = args.sockets // len(businesses)
    plan = [
        (business, n, business["tokens"][k % 2]) for n, business in enumerate(businesses) for k in range(per_business)
    ]
    # The first socket warms the process (imports, database connection) before the baseline.
    first = await clients.open(port, plan[0][0], 0, plan[0][2])
    await asyncio.sleep(1)
    baseline = _rss_bytes(server.pid)
    started = time.perf_counter()
    sockets = [first]
    for start in range(1, len(plan), 50):  # in waves, as a morning's logins would come
        batch = plan[start : start + 50]
        sockets += await asyncio.gather(
            *(clients.open(port, business, start + i, token) for i, (business, _, token) in enumerate(batch))
        )
    connect_seconds = time.perf_counter() - started
    await asyncio.sleep(2)
    with_sockets = _rss_bytes(server.pid)
    listeners = [
        asyncio.create_task(clients.listen(ws, index, plan[index][0]["schema"])) for index, ws in enumerate(sockets)
    ]

    expected: dict[int, set[str]] = {index: set() for index in range(len(plan))}
    sockets_of = {business["schema"]: [] for business in businesses}
    for index, (business, _, _) in enumerate(plan):
        sockets_of[business["schema"]].append(index)
    interval = 1 / args.rate
    server_cpu, bench_cpu = _cpu_seconds(server.pid), time.process_time()
    publish_started = time.perf_counter()
    for n in range(args.events):
        business = businesses[n % len(businesses)]
        event_id = uuid.uuid4()
        await asyncio.to_thread(_publish, business, event_id)
        for index in sockets_of[business["schema"]]:
            expected[index].add(str(event_id))
        delay = publish_started + (n + 1) * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    publish_seconds = time.perf_counter() - publish_started
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(expected[i] - clients.received[i] for i in expected):
        await asyncio.sleep(0.2)
    busy_seconds = time.perf_counter() - publish_started
    server_cpu, bench_cpu = _cpu_seconds(server.pid) - server_cpu, time.process_time() - bench_cpu
    peak = _rss_bytes(server.pid)
    for ws in sockets:
        await ws.close()
    await asyncio.gather(*listeners, return_exceptions=True)

    deliveries = sum(len(ids) for ids in expected.values())
    lost = sum(len(expected[i] - clients.received[i]) for i in expected)
    latencies = sorted(clients.latencies)

    def percentile(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)

    return {
        "load_average_1m_before": load_before,
        "tenants": len(businesses),
        "sockets": len(plan),
        "events_published": args.events,
        "publish_rate_per_second": round(args.events / publish_seconds, 1),
        "deliveries_expected": deliveries,
        "events_lost": lost,
        "events_of_another_business": clients.foreign,
        "closed_early": [code for code in clients.closed if code != 1000],
        "connect_seconds": round(connect_seconds, 2),
        # Share of one core while events flowed: the server's, and this process's (the clients and
        # the publisher), next to the machine's load (the runner's "machine" stamp).
        "server_cpu_share_of_one_core": round(server_cpu / busy_seconds, 2),
        "clients_cpu_share_of_one_core": round(bench_cpu / busy_seconds, 2),
        "server_rss_mib_one_socket": round(baseline / 2**20, 1),
        "server_rss_mib_all_sockets": round(with_sockets / 2**20, 1),
        "server_rss_mib_after_events": round(peak / 2**20, 1),
        "memory_per_socket_kib": round((with_sockets - baseline) / (len(plan) - 1) / 1024, 1),
        "latency_ms": {
            "p50": percentile(0.50),
            "p95": percentile(0.95),
            "p99": percentile(0.99),
            "max": round(latencies[-1] * 1000, 1) if latencies else None,
            "mean": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
        },
    }


def main() -> dict:
    args = _arguments()
    businesses = _businesses(args.tenants)
    # A socket is a file descriptor on each side.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port = _free_port()
    server = subprocess.Popen(
        [*UVICORN, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--lifespan", "off"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "REALTIME_MAX_CONNECTIONS_PER_TENANT": str(args.sockets),
        },
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.2)
        return asyncio.run(_run(args, port, server, businesses))
    finally:
        server.terminate()
        server.wait(timeout=30)


def print_figures(figures: dict) -> None:
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    run_in_process(_arguments().results, main, print_figures)
