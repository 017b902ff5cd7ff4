"""GET /api/v1/platform/stats at 10,000 businesses.

The dashboard reads only public tables (tenants, the usage rollups the jobs write, the last
platform snapshot, the outbox's partial indexes), so the bench fills those directly: 10,000
tenant rows (9,000 active, 1,000 suspended, created over the last 60 days), one usage rollup
row each, 50,000 published outbox rows and 25 dead ones, 20,000 provider webhooks of the last
day; the per-minute platform job (`roll_up_platform`, timed too) writes the snapshot. No
tenant schema is made: the route never reads one. Requests go through every middleware
(Django's test client in this process, as a platform admin), after a warm-up, for each `sort`.

Run: `python -m bench.platform_stats` (or `make bench`); writes bench/results/platform_stats.json.
"""

import random
import statistics
import time

TENANTS = 10_000
OUTBOX_ROWS = 50_000
WEBHOOK_EVENTS = 20_000
REQUESTS_PER_SORT = 300
WARM_UP = 20


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def fill(rng: random.Random) -> None:
    from django.db import connection
    from django.utils import timezone

    from shared_apps.outbox.models import OutboxMessage
    from shared_apps.stats.models import TenantUsage
    from shared_apps.tenants.models import Tenant
    from shared_apps.webhooks.models import WebhookEvent

    now = timezone.now()
    Tenant.objects.bulk_create(
        [
            Tenant(
                schema_name=f"bench_t{n:05d}",
                slug=f"bench-{n:05d}",
                name=f"Bench {n}",
                status=Tenant.Status.SUSPENDED if n % 10 == 0 else Tenant.Status.ACTIVE,
            )
            for n in range(TENANTS)
        ],
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tenants_tenant SET created_at = now() - (id % 60) * interval '1 day'")
    TenantUsage.objects.bulk_create(
        [
            TenantUsage(
                tenant_id=tenant_id,
                computed_at=now,
                sms_segments=rng.randrange(0, 20_000),
                call_seconds=rng.randrange(0, 200_000),
                card_volume=rng.randrange(0, 5_000_000),
                currency=rng.choice(("usd", "usd", "usd", "eur", "gbp")),
                storage_bytes=rng.randrange(2_000_000, 500_000_000),
            )
            for tenant_id in Tenant.objects.values_list("pk", flat=True)
        ],
        batch_size=2000,
    )
    # Four in five signed in within the last 45 days (so about two thirds within 30).
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.24)")
        cursor.execute(
            "UPDATE stats_tenantusage SET last_active_at = now() - random() * interval '45 days' WHERE random() < 0.8"
        )
    OutboxMessage.objects.bulk_create(
        [OutboxMessage(actor_name="bench", published_at=now) for _ in range(OUTBOX_ROWS)]
        + [OutboxMessage(actor_name="bench", dead_at=now) for _ in range(25)],
        batch_size=5000,
    )
    WebhookEvent.objects.bulk_create(
        [
            WebhookEvent(
                provider=rng.choice(("stripe", "twilio", "vapi")),
                dedupe_key=f"bench-{n}",
                status=WebhookEvent.Status.FAILED if n % 50 == 0 else WebhookEvent.Status.PROCESSED,
                body=b"",
            )
            for n in range(WEBHOOK_EVENTS)
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def roll_up_platform_ms() -> float:
    """The per-minute job's own cost at this size (it reads the tenants and rollups)."""
    from shared_apps.stats.services import roll_up_platform

    began = time.perf_counter()
    roll_up_platform(queue_depth={"default": 0})
    return (time.perf_counter() - began) * 1000


def main() -> dict:
    from django.test import Client

    from shared_apps.accounts import services as accounts
    from shared_apps.accounts.models import User
    from shared_apps.stats.services import SORTS

    rng = random.Random(24)
    started = time.perf_counter()
    fill(rng)
    fill_seconds = time.perf_counter() - started
    job_ms = [roll_up_platform_ms() for _ in range(5)]
    User.objects.create_superuser("bench-admin@platform.test", "a-long-bench-password-1")
    token = accounts.login(email="bench-admin@platform.test", password="a-long-bench-password-1").access_token
    client = Client()

    def request(sort: str) -> float:
        began = time.perf_counter()
        response = client.get(
            "/api/v1/platform/stats",
            {"sort": sort, "limit": 20},
            HTTP_HOST="localhost",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        elapsed = (time.perf_counter() - began) * 1000
        assert response.status_code == 200, response.content[:300]
        assert response.json()["tenants_by_status"] == {"active": 9000, "suspended": 1000}
        return elapsed

    for sort in SORTS:
        for _ in range(WARM_UP):
            request(sort)
    per_sort: dict[str, list[float]] = {sort: [] for sort in SORTS}
    for _ in range(REQUESTS_PER_SORT):
        for sort in SORTS:
            per_sort[sort].append(request(sort))
    everything = [value for values in per_sort.values() for value in values]
    return {
        "tenants": TENANTS,
        "usage_rows": TENANTS,
        "outbox_rows": OUTBOX_ROWS + 25,
        "requests": len(everything),
        "fill_seconds": round(fill_seconds, 1),
        "roll_up_platform_job_ms": {"median": round(statistics.median(job_ms), 1), "max": round(max(job_ms), 1)},
        "latency_ms": {
            "p50": round(statistics.median(everything), 1),
            "p95": round(percentile(everything, 0.95), 1),
            "p99": round(percentile(everything, 0.99), 1),
            "max": round(max(everything), 1),
        },
        "p99_ms_by_sort": {sort: round(percentile(values, 0.99), 1) for sort, values in per_sort.items()},
    }


def print_figures(figures: dict) -> None:
    latency = figures["latency_ms"]
    print(f"GET /platform/stats, {figures['tenants']:,} tenants, {figures['requests']} requests")
    print(f"p50 {latency['p50']} ms | p95 {latency['p95']} ms | p99 {latency['p99']} ms | max {latency['max']} ms")
    print(f"the per-minute platform job: median {figures['roll_up_platform_job_ms']['median']} ms")
    for sort, p99 in figures["p99_ms_by_sort"].items():
        print(f"  sort={sort:<14} p99 {p99} ms")


if __name__ == "__main__":
    from bench.setup import run_in_process

    run_in_process("platform_stats", main, print_figures)
