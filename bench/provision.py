"""Per-tenant provisioning time by path, at 10 and at a few hundred existing tenants.

- pool: `create_tenant` while a ready schema waits in the pool (claim + identity + Domain)
- cold: `create_tenant` with an empty pool (the captured-DDL path, built in the request)
- migrate: django-tenants' own path (create the schema and replay every migration)

Run through `make bench`; prints a table and writes bench/results/provision.json.
"""

import os
import statistics
import sys
import time

import django

ROUNDS = 15


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(tenant_levels: tuple[int, ...]) -> dict:
    from django.db import transaction

    from shared_apps.tenants import provisioning, services
    from shared_apps.tenants.models import Tenant

    provisioning.captured_tenant_ddl()  # captured once per process, as in a server
    counter = iter(range(1_000_000))

    def next_slug() -> str:
        return f"bench-{next(counter)}"

    def timed(operation) -> float:
        started = time.perf_counter()
        operation()
        return (time.perf_counter() - started) * 1000

    def via_pool() -> float:
        provisioning.create_pooled_tenant()  # the refill job's work, outside the timing

        def claim() -> None:
            with transaction.atomic():
                services.create_tenant(slug=next_slug(), name="Bench")

        return timed(claim)

    def via_cold_ddl() -> float:
        def create() -> None:
            with transaction.atomic():
                services.create_tenant(slug=next_slug(), name="Bench")

        return timed(create)

    def via_migrations() -> float:
        return timed(lambda: provisioning.create_pooled_tenant(cold_path="migrate"))

    results = {"rounds": ROUNDS, "levels": []}
    for level in tenant_levels:
        while Tenant.objects.count() < level:
            provisioning.create_pooled_tenant()
            Tenant.objects.filter(status=Tenant.Status.POOLED).update(status=Tenant.Status.SUSPENDED)
        row = {"existing_tenants": Tenant.objects.count()}
        for name, path in (("pool", via_pool), ("cold", via_cold_ddl), ("migrate", via_migrations)):
            samples = [path() for _ in range(ROUNDS)]
            row[name] = {
                "p50_ms": round(statistics.median(samples), 1),
                "p90_ms": round(percentile(samples, 0.9), 1),
                "min_ms": round(min(samples), 1),
            }
        results["levels"].append(row)
        print_row(row)
    return results


def print_row(row: dict) -> None:
    paths = [f"{row[name]['p50_ms']:>8.1f} / {row[name]['p90_ms']:>7.1f}" for name in ("pool", "cold", "migrate")]
    print(" | ".join([f"{row['existing_tenants']:>8}", *paths]), flush=True)


if __name__ == "__main__":
    from bench.setup import recreate_bench_database, write_results

    levels = tuple(int(level) for level in (sys.argv[1:] or ["10", "300"]))
    os.environ["DATABASE_URL"] = recreate_bench_database()
    os.environ["TENANT_POOL_SIZE"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    print("tenants  | pool p50 / p90 ms  | cold (DDL) p50 / p90 | django-tenants migrate p50 / p90")
    figures = main(levels)
    print(f"written to {write_results('provision', figures)}")
