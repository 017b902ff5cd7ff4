"""What the cross-process tenant cache check costs per request.

Every tenant lookup now reads the tenant generation from Redis (one GET) before trusting its
in-process entry. Measured on a warm process, interleaved in rounds:

- lookup: `get_tenant_for_host` alone, with the check and without it (the generation read
  replaced by "Redis unavailable", which is the old age-only behaviour);
- request: `GET /api/v1/tenants/me` on the tenant's host through every middleware (Django's
  test client in this process, no network), with and without the check;
- reload: the first lookup after another process published a change (one SQL query);
- redis_ping: one bare Redis round trip, for scale.

Run through `make bench`; prints a table and writes bench/results/tenant_cache.json.
"""

import statistics
import time

ROUNDS = 10
LOOKUPS_PER_ROUND = 1000
REQUESTS_PER_ROUND = 200


def per_call_us(operation, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        operation()
    return (time.perf_counter() - started) / count * 1_000_000


def main() -> dict:
    from unittest import mock

    from django.test import Client

    from api.ratelimit import redis_client
    from shared_apps.accounts import services as accounts
    from shared_apps.tenants import queries

    tokens = accounts.register_business(
        business_name="Bench Cache", email="owner@bench-cache.test", password="a-long-bench-password-1"
    )
    host = f"{tokens.tenant.slug}.localhost"
    client = Client()

    def lookup() -> None:
        queries.get_tenant_for_host(host=host)

    def request() -> None:
        response = client.get("/api/v1/tenants/me", HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {tokens.access_token}")
        assert response.status_code == 200

    def reload() -> None:
        queries.tenant_rows_changed()
        lookup()

    without_check = mock.patch.object(queries, "current_generation", return_value=None)
    samples: dict[str, list[float]] = {
        name: []
        for name in ("lookup_with", "lookup_without", "request_with", "request_without", "reload", "redis_ping")
    }
    request()  # warm every cache
    for _ in range(ROUNDS):
        samples["lookup_with"].append(per_call_us(lookup, LOOKUPS_PER_ROUND))
        with without_check:
            samples["lookup_without"].append(per_call_us(lookup, LOOKUPS_PER_ROUND))
        samples["request_with"].append(per_call_us(request, REQUESTS_PER_ROUND))
        with without_check:
            samples["request_without"].append(per_call_us(request, REQUESTS_PER_ROUND))
        samples["reload"].append(per_call_us(reload, 50))
        samples["redis_ping"].append(per_call_us(redis_client().ping, LOOKUPS_PER_ROUND))

    figures = {
        "rounds": ROUNDS,
        "lookups_per_round": LOOKUPS_PER_ROUND,
        "requests_per_round": REQUESTS_PER_ROUND,
        "median_of_rounds_us": {name: round(statistics.median(values), 1) for name, values in samples.items()},
        "min_of_rounds_us": {name: round(min(values), 1) for name, values in samples.items()},
    }
    median = figures["median_of_rounds_us"]
    figures["check_cost_us"] = {
        "lookup": round(median["lookup_with"] - median["lookup_without"], 1),
        "request": round(median["request_with"] - median["request_without"], 1),
    }
    return figures


def print_figures(figures: dict) -> None:
    median = figures["median_of_rounds_us"]
    print("per call, median of rounds (us) | with check | without | difference")
    for name in ("lookup", "request"):
        with_check, without = median[f"{name}_with"], median[f"{name}_without"]
        print(f"{name:<32} | {with_check:>10.1f} | {without:>7.1f} | {with_check - without:>+9.1f}")
    print(f"{'reload after a change':<32} | {median['reload']:>10.1f} |")
    print(f"{'one Redis PING':<32} | {median['redis_ping']:>10.1f} |")


if __name__ == "__main__":
    from bench.setup import run_in_process

    run_in_process("tenant_cache", main, print_figures)
