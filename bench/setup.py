"""Bench runs use their own database (`<name>_bench`), rebuilt from scratch each run, so
figures never depend on what a developer's database holds."""

import json
import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")


def write_results(name: str, figures: dict) -> str:
    """Write a run's figures to bench/results/<name>.json and return the path."""
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, f"{name}.json")
    with open(path, "w") as handle:
        json.dump(figures, handle, indent=2)
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
