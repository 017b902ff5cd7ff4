"""Bench runs use their own database (`<name>_bench`), rebuilt from scratch each run, so
figures never depend on what a developer's database holds."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")


def machine() -> dict:
    """When and on what a run was measured: figures mean little without it."""
    with open("/proc/meminfo") as meminfo:
        kib = int(next(line for line in meminfo if line.startswith("MemTotal:")).split()[1])
    return {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"),
        "cpus": os.cpu_count(),
        "memory_gib": round(kib / 1024 / 1024),
        "load_average_1m": round(os.getloadavg()[0], 1),
    }


def write_results(name: str, figures: dict) -> str:
    """Write a run's figures, stamped with the date and machine, to bench/results/<name>.json
    and return the path."""
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, f"{name}.json")
    with open(path, "w") as handle:
        json.dump({"machine": machine(), **figures}, handle, indent=2)
        handle.write("\n")
    return path


def bench_database_url() -> str:
    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/") or "postgres"
    return urlunsplit(url._replace(path=f"/{name}_bench"))


def recreate_bench_database() -> str:
    """Drop and create the bench database, migrate its public schema; return its URL."""
    bench_url = bench_database_url()
    admin_url = urlunsplit(urlsplit(bench_url)._replace(path="/postgres"))
    name = urlsplit(bench_url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": bench_url, "TENANT_POOL_SIZE": "0"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate_schemas", "--shared", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    return bench_url


def run_in_process(name: str, main: Callable[[], dict], print_figures: Callable[[dict], None]) -> None:
    """Run an in-process bench on a fresh bench database and a Redis namespace of its own
    (removed afterwards), print its figures and write them to bench/results/<name>.json."""
    import django

    os.environ["DATABASE_URL"] = recreate_bench_database()
    os.environ["TENANT_POOL_SIZE"] = "0"
    os.environ["REDIS_KEY_PREFIX"] = f"bench-{uuid.uuid4().hex[:12]}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    from api.ratelimit import redis_client

    try:
        figures = main()
    finally:
        keys = list(redis_client().scan_iter(match=f"{os.environ['REDIS_KEY_PREFIX']}*"))
        if keys:
            redis_client().delete(*keys)
    print_figures(figures)
    print(f"written to {write_results(name, figures)}", file=sys.stderr)


def business_api(*, business_name: str, email: str) -> Callable[..., Any]:
    """A new business and `call(method, path, body=None)`: its owner's request through Django's
    whole stack in-process (no socket), asserted 200/201, answering the response."""
    from django.conf import settings
    from django.test import Client

    from shared_apps.accounts.services import register_business

    tokens = register_business(business_name=business_name, email=email, password="bench-password-1")
    headers = {
        "HTTP_HOST": f"{tokens.tenant.slug}.{settings.BASE_DOMAIN}",
        "HTTP_AUTHORIZATION": f"Bearer {tokens.access_token}",
    }
    client = Client()

    def call(method: str, path: str, body: dict | None = None):
        data = json.dumps(body) if body is not None else None
        response = getattr(client, method)(f"/api/v1{path}", data=data, content_type="application/json", **headers)
        assert response.status_code in (200, 201), (path, response.status_code, response.content[:300])
        return response

    return call
