"""Many tenants on one database, measured in one run (`--tenants N`, 1,000 by default).

1. provisioning: N tenants built through `create_tenant` (pool empty, so the captured-DDL
   path), each with a few customers and an owner; p50 of tenants N-9..N against 1..10.
2. requests: one API process (gunicorn, 1 worker x 4 threads, core 0), one client on core 1
   sending `GET /api/v1/customers?limit=20` on each tenant's own host, after one warm-up pass
   over every tenant; interleaved rounds of: rotating over all N tenants, rotating over 10,
   and one hot tenant taking every other request while the rest rotate over N or over 10.
3. memory: the worker's RSS after touching 10 tenants and after touching all N.
   Both measured twice, on fresh servers: "before" with the settings of the code before this
   benchmark (FIFO connection pool, tenant lookups cached 5 s), then with the defaults.
4. deploy: bench/migrate.py's, `migrate_tenants_if_needed --executor=multiprocessing` with one
   new tenant migration (written for the run) over every schema, while the old code keeps
   serving the rotation (its latencies and errors during the migration are recorded); then the
   same command with nothing to migrate.

Writes bench/results/scale.json (or scale_<N>.json for a size other than 1,000).
"""

import argparse
import contextlib
import http.client
import os
import signal
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import django
import psycopg

from bench.setup import recreate_bench_database, write_results

PORT = 8898
CUSTOMERS_PER_TENANT = 5
ROUNDS = 4
REQUESTS_PER_ROUND = 500


@dataclass(frozen=True)
class Target:
    host: str
    token: str


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def build_tenants(count: int, *, start: int = 0) -> tuple[list[Target], list[float]]:
    """N active tenants with customers, one owner in all of them (numbered from `start`, after
    those a stopped run built); returns their targets and each `create_tenant` call's
    milliseconds, in order."""
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import Membership, User
    from shared_apps.accounts.tokens import issue_access_token
    from shared_apps.tenants import services
    from tenant_apps.customers.models import Customer

    owner = User.objects.filter(email="owner@scale.bench").first() or User.objects.create_user(
        "owner@scale.bench", "a-long-bench-password-1"
    )
    targets, timings = [], []
    for index in range(start, start + count):
        started = time.perf_counter()
        with transaction.atomic():
            tenant = services.create_tenant(slug=f"scale-{index:05d}", name=f"Scale {index}")
        timings.append((time.perf_counter() - started) * 1000)
        Membership.objects.create(user=owner, tenant=tenant, role=Membership.Role.OWNER)
        with tenant_context(tenant):
            Customer.objects.bulk_create(
                Customer(name=f"Customer {n}", email=f"c{n}@scale.bench") for n in range(CUSTOMERS_PER_TENANT)
            )
        token = issue_access_token(user_id=owner.pk, tenant_schema=tenant.schema_name, role=Membership.Role.OWNER)
        targets.append(Target(host=f"{tenant.slug}.localhost", token=token))
        if (index + 1) % 100 == 0:
            print(f"  {index + 1} tenants", flush=True)
    return targets, timings


class Client:
    """One keep-alive connection, one request at a time."""

    def __init__(self) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)

    def get(self, target: Target) -> tuple[float, int]:
        started = time.perf_counter()
        self.connection.request(
            "GET",
            "/api/v1/customers?limit=20",
            headers={"Host": target.host, "Authorization": f"Bearer {target.token}"},
        )
        response = self.connection.getresponse()
        response.read()
        return (time.perf_counter() - started) * 1000, response.status


def worker_pid(master: int) -> int:
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True, check=True).stdout.split()
    return int(children[0])


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


def sequence(scenario: str, targets: list[Target], start: int, length: int) -> list[Target]:
    """The tenants one round of a scenario visits, continuing the rotation at `start`."""
    pool = targets if scenario.endswith("_all") else targets[:10]
    if scenario.startswith("rotate"):
        return [pool[(start + i) % len(pool)] for i in range(length)]
    hot = targets[len(targets) // 2]  # not one of the first 10: the same tenant in both mixes
    return [hot if i % 2 == 0 else pool[(start + i // 2) % len(pool)] for i in range(length)]


def block_counts() -> tuple[int, int]:
    """The bench database's pages read from outside shared_buffers and found in them, so far
    (pg_stat_database, flushed by the server at most every second or so: summed over rounds)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT blks_read, blks_hit FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()


def measure_requests(client: Client, targets: list[Target]) -> dict:
    scenarios = ("rotate_all", "rotate_10", "hot_among_all", "hot_among_10")
    samples: dict[str, list[float]] = {name: [] for name in scenarios}
    hot_samples: dict[str, list[float]] = {name: [] for name in scenarios if name.startswith("hot")}
    hot = targets[len(targets) // 2]
    errors = 0
    blocks = {name: {"read": 0, "hit": 0} for name in scenarios}
    for round_index in range(ROUNDS):
        for name in scenarios:
            read_before, hit_before = block_counts()
            for target in sequence(name, targets, round_index * REQUESTS_PER_ROUND, REQUESTS_PER_ROUND):
                elapsed, status = client.get(target)
                errors += status != 200
                samples[name].append(elapsed)
                if target is hot and name in hot_samples:
                    hot_samples[name].append(elapsed)
            read_after, hit_after = block_counts()
            blocks[name]["read"] += read_after - read_before
            blocks[name]["hit"] += hit_after - hit_before

    def summary(values: list[float]) -> dict:
        return {
            "requests": len(values),
            "p50_ms": round(statistics.median(values), 2),
            "p99_ms": round(percentile(values, 0.99), 2),
        }

    figures = {name: summary(values) for name, values in samples.items()}
    for name, counts in blocks.items():
        # Pages PostgreSQL had to read from outside shared_buffers, per request.
        figures[name]["blocks_read_per_request"] = round(counts["read"] / len(samples[name]), 2)
        figures[name]["blocks_hit_per_request"] = round(counts["hit"] / len(samples[name]), 1)
    for name, values in hot_samples.items():
        figures[name]["hot_tenant"] = summary(values)
    figures["errors"] = errors
    figures["p99_ratio_all_vs_10"] = round(figures["rotate_all"]["p99_ms"] / figures["rotate_10"]["p99_ms"], 2)
    figures["p50_ratio_all_vs_10"] = round(figures["rotate_all"]["p50_ms"] / figures["rotate_10"]["p50_ms"], 2)
    figures["hot_p99_ratio_all_vs_10"] = round(
        figures["hot_among_all"]["hot_tenant"]["p99_ms"] / figures["hot_among_10"]["hot_tenant"]["p99_ms"], 2
    )
    return figures


def measure_fingerprint_query(repeats: int = 20) -> float:
    from shared_apps.tenants import fingerprints

    fingerprints.code_fingerprint.cache_clear()
    fingerprints.code_migrations.cache_clear()
    fingerprints.stale_schema_names()
    started = time.perf_counter()
    for _ in range(repeats):
        fingerprints.stale_schema_names()
    return round((time.perf_counter() - started) / repeats * 1000, 2)


def existing_targets() -> list[Target]:
    """The targets of the tenants the last run built (`--requests-only`)."""
    from shared_apps.accounts.models import Membership, User
    from shared_apps.accounts.tokens import issue_access_token
    from shared_apps.tenants.models import Tenant

    owner = User.objects.get(email="owner@scale.bench")
    tenants = Tenant.objects.exclude(slug=None).order_by("id").values_list("slug", "schema_name")
    return [
        Target(
            host=f"{slug}.localhost",
            token=issue_access_token(user_id=owner.pk, tenant_schema=schema, role=Membership.Role.OWNER),
        )
        for slug, schema in tenants
    ]


def measure_serving(server_pid: int, targets: list[Target]) -> tuple[dict, dict]:
    """Request latencies, and the worker's memory after touching 10 tenants, then all."""
    pid = worker_pid(server_pid)
    client = Client()
    os.sched_setaffinity(0, {1})  # the client on core 1, the server on core 0
    try:
        for target in targets[:10]:
            client.get(target)
        memory = {"after_10_tenants_mib": rss_mib(pid)}
        for target in targets:  # the warm-up pass
            client.get(target)
        memory["after_all_tenants_mib"] = rss_mib(pid)
        requests = measure_requests(client, targets)
        for target in targets:  # a second pass: a bounded process stops growing
            client.get(target)
        memory["after_second_pass_mib"] = rss_mib(pid)
        requests["server_database_connections"] = server_backends()
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    print(f"requests: {requests}\nmemory: {memory}", flush=True)
    return requests, memory


SERVER_APPLICATION_NAME = "scale-bench-server"


def server_backends() -> int:
    """PostgreSQL backends the API server holds (its connections carry an application_name)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [SERVER_APPLICATION_NAME])
        return cursor.fetchone()[0]


# The SQL `GET /customers?limit=20` runs in a tenant's schema.
ROUTE_QUERIES = (
    'SELECT COUNT(*) FROM "customers_customer" WHERE "archived_at" IS NULL',
    'SELECT "id", "name", "email" FROM "customers_customer" WHERE "archived_at" IS NULL ORDER BY "name", "id" LIMIT 20',
)


def straight_connection() -> psycopg.Connection:
    """A psycopg connection to the bench database outside Django's (autocommit)."""
    from django.db import connection

    return psycopg.connect(**{**connection.get_connection_params(), "autocommit": True})


def visit_schema(connection: psycopg.Connection, schema: str) -> float:
    """The route's SQL in `schema` on `connection`; returns milliseconds."""
    started = time.perf_counter()
    connection.execute(f'SET search_path = "{schema}", "public"')
    for query in ROUTE_QUERIES:
        connection.execute(query).fetchall()
    return (time.perf_counter() - started) * 1000


def measure_cold_schema_cost(schemas: list[str]) -> dict:
    """What one PostgreSQL backend pays the first time it serves a schema (loading the catalog
    entries of its tables and indexes) against the next time: the route's queries, straight on
    a fresh psycopg connection."""
    visits: dict[str, list[float]] = {"first": [], "second": []}
    with straight_connection() as fresh:
        for visit in ("first", "second"):
            visits[visit] += [visit_schema(fresh, schema) for schema in schemas]
    return {
        "schemas": len(schemas),
        "first_visit_p50_ms": round(statistics.median(visits["first"]), 2),
        "second_visit_p50_ms": round(statistics.median(visits["second"]), 2),
    }


def measure_sql_rotation(schemas: list[str], *, requests: int = 4000) -> dict:
    """The route's own SQL on one warm psycopg connection (every schema visited once first, as
    the server's backend has been), rotating over every schema against over 10, interleaved in
    rounds: what PostgreSQL alone charges for a tenant not served for a while. The server's
    difference between the two rotations, less this one, is what the rest of the stack adds."""
    samples: dict[str, list[float]] = {"rotate_all": [], "rotate_10": []}
    with straight_connection() as warm:

        def backend_mib() -> float:
            # This backend's memory contexts: the catalog and plan caches it keeps per relation.
            row = warm.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts").fetchone()
            return round(int(row[0]) / 2**20, 1) if row else 0.0

        memory = {"backend_mib_fresh": backend_mib()}
        for schema in schemas[:10]:
            visit_schema(warm, schema)
        memory["backend_mib_after_10_schemas"] = backend_mib()
        for schema in schemas:
            visit_schema(warm, schema)
        memory["backend_mib_after_all_schemas"] = backend_mib()
        position = 0
        for _round in range(ROUNDS):
            for name in samples:
                pool = schemas if name == "rotate_all" else schemas[:10]
                for i in range(requests // ROUNDS):
                    samples[name].append(visit_schema(warm, pool[(position + i) % len(pool)]))
            position += requests // ROUNDS
    figures: dict = {
        name: {"p50_ms": round(statistics.median(values), 3), "p99_ms": round(percentile(values, 0.99), 3)}
        for name, values in samples.items()
    }
    figures["p50_ratio_all_vs_10"] = round(figures["rotate_all"]["p50_ms"] / figures["rotate_10"]["p50_ms"], 2)
    figures["p99_ratio_all_vs_10"] = round(figures["rotate_all"]["p99_ms"] / figures["rotate_10"]["p99_ms"], 2)
    return {**figures, **memory}


def server_env(pooler_port: int | None = None) -> dict[str, str]:
    """The API server's environment; with `pooler_port`, through PgBouncer there, connecting per
    request (as `make prod` runs it)."""
    from devtools import pgbouncer

    url = os.environ["DATABASE_URL"]
    pooled = {} if pooler_port is None else {"DB_POOL": "false"}
    url = url if pooler_port is None else pgbouncer.pooled_url(url, pooler_port)
    separator = "&" if "?" in url else "?"
    return {
        **os.environ,
        **pooled,
        "DATABASE_URL": f"{url}{separator}application_name={SERVER_APPLICATION_NAME}",
        "PORT": str(PORT),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "4",
        "GUNICORN_ACCESS_LOG": "",
        "DJANGO_SETTINGS_MODULE": "bench.settings",
    }


def main(tenant_count: int, *, requests_only: bool, pooler_port: int | None = None) -> dict:
    from bench.http import start_server
    from shared_apps.tenants import provisioning

    figures: dict = {"tenants": tenant_count, "customers_per_tenant": CUSTOMERS_PER_TENANT}
    if requests_only:
        targets = existing_targets()
        figures["tenants"] = len(targets)
    else:
        provisioning.captured_tenant_ddl()  # captured once per process, as in a server
        started = time.perf_counter()
        targets, timings = build_tenants(tenant_count)
        figures["build_seconds"] = round(time.perf_counter() - started, 1)
        first, last = statistics.median(timings[:10]), statistics.median(timings[-10:])
        figures["provisioning"] = {
            "first_10_p50_ms": round(first, 1),
            "last_10_p50_ms": round(last, 1),
            "ratio": round(last / first, 2),
        }
        print(f"built {tenant_count} tenants: {figures['provisioning']}", flush=True)

    from shared_apps.tenants.models import Tenant

    schemas = list(Tenant.objects.exclude(slug=None).order_by("?").values_list("schema_name", flat=True)[:100])
    figures["cold_schema_cost"] = measure_cold_schema_cost(schemas)
    print(f"cold schema cost: {figures['cold_schema_cost']}", flush=True)
    every_schema = list(Tenant.objects.exclude(slug=None).order_by("id").values_list("schema_name", flat=True))
    figures["sql_rotation"] = measure_sql_rotation(every_schema)
    print(f"the route's SQL alone: {figures['sql_rotation']}", flush=True)
    # Before: the cache bounds of the code before the 10,000-business work, straight to
    # PostgreSQL; after: the defaults, through PgBouncer with --pooler.
    before = {"TENANT_CACHE_MAX_ENTRIES": "5000", "MEMBERSHIP_CACHE_SECONDS": "60"}
    server = start_server({**server_env(), **before}, port=PORT)
    try:
        requests, memory = measure_serving(server.pid, targets)
        figures["before"] = {"settings": before, "requests": requests, "memory": memory}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    env = server_env(pooler_port)
    server = start_server(env, port=PORT)
    try:
        figures["requests"], figures["memory"] = measure_serving(server.pid, targets)
        if pooler_port is not None:
            from devtools import pgbouncer

            database = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
            figures["pooler"] = {
                "mode": "session, the API connecting per request (DB_POOL=false)",
                "server_connections": pgbouncer.server_connections(pooler_port, database),
            }
        if not requests_only:
            from bench.migrate import measure_deploy

            figures["deploy"] = measure_deploy(env, targets)
            figures["deploy"]["stale_schema_query_ms"] = measure_fingerprint_query()
            print(f"deploy: {figures['deploy']}", flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return figures


if __name__ == "__main__":
    from bench.setup import bench_database_url

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument(
        "--requests-only", action="store_true", help="only the requests, on the tenants the last run built"
    )
    parser.add_argument("--pooler", action="store_true", help="the measured server through PgBouncer")
    arguments = parser.parse_args()
    os.environ["DATABASE_URL"] = bench_database_url() if arguments.requests_only else recreate_bench_database()
    os.environ["TENANT_POOL_SIZE"] = "0"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["JWT_EXPIRES_IN"] = "86400"  # the tokens made while building outlive the run
    django.setup()
    with contextlib.ExitStack() as stack:
        port = None
        if arguments.pooler:
            from devtools import pgbouncer

            port = pgbouncer.free_port()
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            pooler = pgbouncer.start(
                pgbouncer.write_config(directory, database_url=os.environ["DATABASE_URL"], port=port)
            )
            stack.callback(pooler.wait, 10)
            stack.callback(pooler.terminate)
            time.sleep(1)
        results = main(arguments.tenants, requests_only=arguments.requests_only, pooler_port=port)
    name = "scale" if results["tenants"] == 1000 else f"scale_{results['tenants']}"
    if arguments.requests_only:
        name += "_requests"
    if arguments.pooler:
        name += "_pooler"
    print(f"written to {write_results(name, results)}")
