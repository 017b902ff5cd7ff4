"""What tracing costs a request: `GET /api/v1/customers` (a page of 50 customers) through
every middleware, with tracing off and on, interleaved in rounds in one process (Django's
test client, no network).

On is what the OTEL_* variables turn on: the tracer provider with every span sampled, the
scrubbing processor, a batch processor, and requests, SQL, Redis and httpx instrumented.
The exporter drops the spans instead of sending them, so the figure is the cost on the
request's own thread (the batch processor exports from a thread of its own). Off is the
default: nothing instrumented.

The machine is shared, so its speed drifts between rounds: rounds are short, each round of one
state is paired with the round of the other next to it (the order alternates), and the
overhead is the median of the pairs' ratios; the medians of each state's rounds are given too.

SQL statements and Redis commands quicker than TRACING_CLIENT_SPAN_MIN_MS (1 ms) are counted on
the request's span; with TRACING_CLIENT_SPAN_MIN_MS=0 each gets its span, and the results file
is named `*_every_span`.

`python -m bench.tracing` samples every request; `python -m bench.tracing 0.1` samples one
trace in ten, as OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1 does
(the SDK reads the two variables itself). Run through `make bench` (both); prints a table and
writes bench/results/tracing.json and tracing_sampled.json.
"""

import os
import statistics
import sys
import time
from collections.abc import Sequence

ROUNDS = 40
REQUESTS_PER_ROUND = 40
WARM_UP = 3
CUSTOMERS = 50


def main() -> dict:
    from django.conf import settings
    from django.test import Client
    from django_tenants.utils import tenant_context
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from shared_apps.accounts import services as accounts
    from shared_apps.observability import tracing
    from tenant_apps.customers.models import Customer

    class DroppingExporter(SpanExporter):
        exported = 0

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            DroppingExporter.exported += len(spans)
            return SpanExportResult.SUCCESS

    tokens = accounts.register_business(
        business_name="Bench Tracing", email="owner@bench-tracing.test", password="a-long-bench-password-1"
    )
    with tenant_context(tokens.tenant):
        Customer.objects.bulk_create(
            Customer(name=f"Customer {index}", phone=f"+1202555{index:04}") for index in range(CUSTOMERS)
        )
    host = f"{tokens.tenant.slug}.localhost"
    headers = {"HTTP_HOST": host, "HTTP_AUTHORIZATION": f"Bearer {tokens.access_token}"}

    tracing.install_tracing([BatchSpanProcessor(DroppingExporter())])

    def client_for(on: bool) -> Client:
        if on:
            tracing.instrument_libraries()
        else:
            tracing.uninstrument_libraries()
        client = Client()
        for _ in range(20):  # loads the middleware as it now stands, and warms up
            assert client.get("/api/v1/customers", {"limit": CUSTOMERS}, **headers).status_code == 200
        return client

    # Each state's client keeps its middleware; switching only (un)instruments the libraries
    # (the open connection's SQL wrapper included), so rounds can be short and many.
    clients = {"on": client_for(on=True), "off": client_for(on=False)}

    def switch(on: bool) -> Client:
        if on:
            tracing.instrument_libraries()
        else:
            tracing.uninstrument_libraries()
        client = clients["on" if on else "off"]
        for _ in range(WARM_UP):
            client.get("/api/v1/customers", {"limit": CUSTOMERS}, **headers)
        return client

    def per_request_us(client: Client) -> tuple[float, float]:
        """Wall time and this process's CPU time (the batch processor's thread included)."""
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(REQUESTS_PER_ROUND):
            client.get("/api/v1/customers", {"limit": CUSTOMERS}, **headers)
        scale = 1_000_000 / REQUESTS_PER_ROUND
        return (time.perf_counter() - wall) * scale, (time.process_time() - cpu) * scale

    samples: dict[str, list[float]] = {"wall_off": [], "wall_on": [], "cpu_off": [], "cpu_on": []}
    for round_number in range(ROUNDS):
        for state in ("off", "on") if round_number % 2 == 0 else ("on", "off"):
            wall, cpu = per_request_us(switch(on=state == "on"))
            samples[f"wall_{state}"].append(wall)
            samples[f"cpu_{state}"].append(cpu)
    tracing.uninstrument_libraries()

    def ratios(kind: str) -> list[float]:
        """Each on round's time over its paired off round's."""
        return [on / off for on, off in zip(samples[f"{kind}_on"], samples[f"{kind}_off"], strict=True)]

    traced_requests = ROUNDS * (REQUESTS_PER_ROUND + WARM_UP) + 20
    median = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "endpoint": "GET /api/v1/customers",
        "sampler": os.environ.get("OTEL_TRACES_SAMPLER", "parentbased_always_on"),
        "sampler_ratio": float(os.environ.get("OTEL_TRACES_SAMPLER_ARG", "1")),
        "client_span_min_ms": settings.TRACING_CLIENT_SPAN_MIN_MS,
        "customers": CUSTOMERS,
        "rounds": ROUNDS,
        "requests_per_round": REQUESTS_PER_ROUND,
        "spans_exported_per_request": round(DroppingExporter.exported / traced_requests, 1),
        "median_of_rounds_us": {name: round(value, 1) for name, value in median.items()},
        "min_of_rounds_us": {name: round(min(values), 1) for name, values in samples.items()},
        "overhead_percent": {kind: round((statistics.median(ratios(kind)) - 1) * 100, 1) for kind in ("cpu", "wall")},
        "overhead_percent_of_medians": {
            kind: round((median[f"{kind}_on"] - median[f"{kind}_off"]) / median[f"{kind}_off"] * 100, 1)
            for kind in ("cpu", "wall")
        },
    }


def print_figures(figures: dict) -> None:
    median, fastest = figures["median_of_rounds_us"], figures["min_of_rounds_us"]
    print(
        f"{figures['endpoint']} ({figures['customers']} customers), {figures['sampler']} {figures['sampler_ratio']}, "
        f"client spans from {figures['client_span_min_ms']} ms"
    )
    print("per request (us), median / fastest round")
    print(f"{'tracing':<8} | {'CPU':>17} | {'wall':>17}")
    for state in ("off", "on"):
        cpu, wall = f"cpu_{state}", f"wall_{state}"
        print(f"{state:<8} | {median[cpu]:>8.1f} {fastest[cpu]:>8.1f} | {median[wall]:>8.1f} {fastest[wall]:>8.1f}")
    overhead = figures["overhead_percent"]
    spans = figures["spans_exported_per_request"]
    print(f"overhead (median of paired rounds): CPU {overhead['cpu']} %, wall {overhead['wall']} %")
    of_medians = figures["overhead_percent_of_medians"]
    print(f"overhead (of the medians): CPU {of_medians['cpu']} %, wall {of_medians['wall']} %")
    print(f"{spans} spans exported per traced request")


if __name__ == "__main__":
    from bench.setup import run_in_process

    name = "tracing"
    if len(sys.argv) > 1:
        os.environ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio"
        os.environ["OTEL_TRACES_SAMPLER_ARG"] = sys.argv[1]
        name = "tracing_sampled"
    if float(os.environ.get("TRACING_CLIENT_SPAN_MIN_MS", "1")) == 0:
        name += "_every_span"
    run_in_process(name, main, print_figures)
