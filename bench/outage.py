"""Outage drills, before and after: the API under gunicorn against our own PostgreSQL and
redis-server (tests/outage_stack.py), which are stopped and started again while it runs. The
same drills run on this checkout ("after") and on the code of BEFORE_REF ("before", extracted
with git archive, same virtualenv). Writes bench/results/outage.json.

    .venv/bin/python -m bench.outage [BEFORE_REF]
"""

import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.setup import ROOT, write_results
from tests.outage_stack import Answer, OutageStack

BEFORE_REF = "main"
SCHEDULER_WATCH_SECONDS = 6


def row(drill: str, request: str, answer: Answer) -> dict[str, Any]:
    return {"drill": drill, "request": request, "status": answer.status, "seconds": round(answer.seconds, 2)}


def scheduler_survives(stack: OutageStack) -> dict[str, Any]:
    """Run the scheduler with Redis stopped; does it still run after a few seconds?"""
    scheduler = subprocess.Popen(
        [sys.executable, "manage.py", "run_scheduler"],
        cwd=stack.source,
        env={**stack.env(), "DRAMATIQ_STUB_BROKER": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = time.monotonic()
    while scheduler.poll() is None and time.monotonic() - started < SCHEDULER_WATCH_SECONDS:
        time.sleep(0.1)
    exited = scheduler.poll() is not None
    seconds = round(time.monotonic() - started, 2)
    scheduler.kill()
    scheduler.wait(timeout=10)
    outcome = f"exited after {seconds} s" if exited else f"still running after {seconds} s"
    return {"drill": "Redis down", "request": "manage.py run_scheduler", "status": outcome, "seconds": seconds}


def drills(stack: OutageStack) -> list[dict[str, Any]]:
    host, registered = stack.register(f"bench-{uuid.uuid4().hex[:8]}")
    token = registered.body["access_token"]
    slug = host.split(".")[0]
    customer = {"name": "Ada"}
    rows = []

    stack.stop_redis()
    rows += [
        row("Redis down", "POST /auth/login", stack.login(slug)),
        row("Redis down", "POST /auth/register", stack.register(f"offline-{uuid.uuid4().hex[:8]}")[1]),
        row("Redis down", "GET /customers", stack.request("GET", "/customers", host=host, token=token)),
        row("Redis down", "POST /customers", stack.request("POST", "/customers", customer, host=host, token=token)),
        row("Redis down", "GET /ready", stack.request("GET", "/ready")),
        scheduler_survives(stack),
    ]
    stack.start_redis()
    rows.append(row("Redis back", "GET /ready", stack.request("GET", "/ready")))

    stack.stop_postgres()
    rows += [
        row("PostgreSQL down", "GET /customers", stack.request("GET", "/customers", host=host, token=token)),
        row("PostgreSQL down", "GET /ready", stack.request("GET", "/ready")),
        row("PostgreSQL down", "POST /auth/login", stack.login(slug)),
    ]
    time.sleep(6)  # past TENANT_CACHE_SECONDS: an outage that outlasts the short cache age
    rows.append(
        row("PostgreSQL down 6 s", "GET /customers", stack.request("GET", "/customers", host=host, token=token))
    )
    stack.start_postgres()
    back_at = time.monotonic()
    while (answer := stack.request("GET", "/customers", host=host, token=token)).status != 200:
        if time.monotonic() - back_at > 120:
            break
        time.sleep(0.2)
    rows.append(
        {
            "drill": "PostgreSQL back (API not restarted)",
            "request": "GET /customers until 200",
            "status": answer.status,
            "seconds": round(time.monotonic() - back_at, 2),
        }
    )
    return rows


def run_on(source: Path, directory: Path) -> list[dict[str, Any]]:
    stack = OutageStack(directory, source=source)
    try:
        stack.start_postgres()
        stack.start_redis()
        stack.migrate()
        stack.start_api()
        return drills(stack)
    finally:
        stack.close()


def main() -> None:
    before_ref = sys.argv[1] if len(sys.argv) > 1 else BEFORE_REF
    root = Path(ROOT)
    before_commit = subprocess.run(
        ["git", "rev-parse", "--short", before_ref], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="outage-bench-") as scratch:
        before_source = Path(scratch) / "before"
        before_source.mkdir()
        archive = subprocess.run(["git", "archive", before_ref], cwd=root, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", before_source], input=archive, check=True)
        (before_source / ".venv").symlink_to(root / ".venv")
        before = run_on(before_source, Path(scratch) / "before-services")
        after = run_on(root, Path(scratch) / "after-services")
    result = {
        "generated_at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "before": {"ref": f"{before_ref} ({before_commit})", "drills": before},
        "after": {"ref": "this checkout", "drills": after},
    }
    write_results("outage", result)
    for old, new in zip(before, after, strict=True):
        before_text = f"{old['status']} ({old['seconds']} s)"
        after_text = f"{new['status']} ({new['seconds']} s)"
        print(f"{old['drill']}: {old['request']} -> before {before_text}, after {after_text}")


if __name__ == "__main__":
    main()
