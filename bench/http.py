"""Throughput and latency of tenant endpoints under load from a second process, beside a bare
Django Ninja endpoint on the same server in the same run.

gunicorn (1 process, 4 threads) is pinned to core 0 and wrk to core 1; scenarios are
interleaved A B C A B C so drift hits all alike; each run lasts DURATION seconds after a
warm-up. Absolute req/s swing between runs: the ratios are the figures that mean something.
Writes bench/results/http.json.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import django

from bench.setup import ROOT, recreate_bench_database, write_results

PORT = 8899
DURATION = 8
ROUNDS = 3
CONNECTIONS = 8
SEED_APPOINTMENTS = 200


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        sys.exit("bench/http.py needs wrk: apt-get install wrk")
    return found


def seed() -> tuple[str, str, str, int]:
    """A tenant with customers and appointments; returns (host, schema, token, customer id)."""
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.services import register_business
    from tenant_apps.appointments.services import create_appointment
    from tenant_apps.customers.models import Customer

    tokens = register_business(business_name="Bench Plumbing", email="bench@bench.test", password="bench-password-1")
    tenant = tokens.tenant
    start = datetime(2027, 1, 4, 14, tzinfo=UTC)
    with tenant_context(tenant):
        customer = Customer.objects.create(name="Bench Customer", email="c@bench.test")
        for index in range(SEED_APPOINTMENTS):
            begins = start + timedelta(hours=index)
            create_appointment(
                tenant=tenant,
                customer_id=customer.pk,
                title=f"Job {index}",
                starts_at=begins,
                ends_at=begins + timedelta(minutes=45),
                staff_id=tokens.user.pk,
            )
    return f"{tenant.slug}.localhost", tenant.schema_name, tokens.access_token, customer.pk


def server_env(database_url: str, *, port: int, **extra: str) -> dict[str, str]:
    """The measured API: one gunicorn process of 4 threads on the bench database, no access
    log, no tenant pool refilling in the background."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "4",
        "GUNICORN_ACCESS_LOG": "",
        "TENANT_POOL_SIZE": "0",
        **extra,
    }


def start_server(env: dict[str, str], *, port: int = PORT) -> subprocess.Popen:
    server = subprocess.Popen(
        ["taskset", "-c", "0", f"{sys.prefix}/bin/gunicorn", "config.wsgi", "-c", "deploy/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    sys.exit("the bench server did not start")


def run_wrk(
    wrk: str, url: str, headers: dict[str, str], lua: str | None, seconds: int, *, connections: int = CONNECTIONS
) -> dict:
    command = ["taskset", "-c", "1", wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if lua:
        command += ["-s", lua]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    return parse_wrk(output)


def _milliseconds(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(output: str) -> dict:
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.MULTILINE))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": _milliseconds(latency["50"]),
        "p99_ms": _milliseconds(latency["99"]),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def summarize(samples: dict[str, list[dict]]) -> dict[str, dict]:
    """Per scenario: the median of its runs' figures, the errors summed, and the runs."""
    return {
        name: {
            "requests_per_second": round(median([s["requests_per_second"] for s in runs]), 1),
            "p50_ms": round(median([s["p50_ms"] for s in runs]), 2),
            "p99_ms": round(median([s["p99_ms"] for s in runs]), 2),
            "errors": sum(s["errors"] for s in runs),
            "runs": runs,
        }
        for name, runs in samples.items()
    }


def main() -> None:
    wrk = ensure_wrk()
    bench_url = recreate_bench_database()
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    host, schema, token, customer_id = seed()

    env = server_env(bench_url, port=PORT, BENCH_SCHEMA=schema)
    auth = {"Host": host, "Authorization": f"Bearer {token}"}
    body = json.dumps(
        {
            "customer_id": customer_id,
            "title": "Load test",
            "starts_at": "2027-06-01T10:00:00+00:00",
            "ends_at": "2027-06-01T11:00:00+00:00",
        }
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(
            f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\nwrk.headers["Content-Type"] = "application/json"\n'
        )
    base = f"http://127.0.0.1:{PORT}"
    scenarios = {
        "bare_ninja_list": (f"{base}/bench/bare/appointments", {}, None),
        "list_appointments": (f"{base}/api/v1/appointments?limit=50", auth, None),
        "create_appointment": (f"{base}/api/v1/appointments", auth, lua.name),
    }

    server = start_server(env)
    try:
        for url, headers, script in scenarios.values():
            run_wrk(wrk, url, headers, script, 2)  # warm-up
        samples: dict[str, list[dict]] = {name: [] for name in scenarios}
        for _ in range(ROUNDS):
            for name, (url, headers, script) in scenarios.items():
                samples[name].append(run_wrk(wrk, url, headers, script, DURATION))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        os.unlink(lua.name)

    summary = summarize(samples)
    bare = summary["bare_ninja_list"]["requests_per_second"]
    for name in summary:
        summary[name]["ratio_to_bare"] = round(summary[name]["requests_per_second"] / bare, 2)
    figures = {
        "server": "gunicorn gthread, 1 process x 4 threads, pinned to core 0",
        "load": f"wrk 1 thread, {CONNECTIONS} connections, {DURATION}s x {ROUNDS} interleaved, core 1",
        "page_size": 50,
        "scenarios": summary,
    }
    write_results("http", figures)
    print(f"{'scenario':<20} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8} {'errors':>7}")
    for name, row in summary.items():
        print(
            f"{name:<20} {row['requests_per_second']:>8.1f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}"
            f" {row['ratio_to_bare']:>8.2f} {row['errors']:>7}"
        )


if __name__ == "__main__":
    main()
