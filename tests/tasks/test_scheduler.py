"""The scheduler process survives Redis and the database being away (it logs and backs off),
so `make run` and the process manager do not lose it."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shared_apps.outbox.models import OutboxMessage
from tasks.management.commands import run_scheduler
from tests.outage_stack import closed_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_scheduler_keeps_running_while_redis_and_database_are_away(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DRAMATIQ_STUB_BROKER": "0",
        "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/absent",
    }
    log_path = tmp_path / "scheduler.log"
    with log_path.open("w") as log:
        scheduler = subprocess.Popen(
            [sys.executable, "manage.py", "run_scheduler"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log
        )
    try:
        # Starting Django takes seconds on a loaded machine: wait for two failed passes (it
        # went on after the first), then check the process is still up.
        deadline = time.monotonic() + 30
        while log_path.read_text().count("Scheduler pass failed") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        exit_code = scheduler.poll()
    finally:
        scheduler.kill()
        scheduler.wait(timeout=10)
    log_text = log_path.read_text()

    assert exit_code is None, log_text
    assert "Scheduler pass failed; backing off" in log_text


def test_a_pass_with_nothing_due_is_one_query_however_many_tenants(db, session_tenants):
    OutboxMessage.objects.all().delete()
    later = timezone.now() + timedelta(hours=1)
    OutboxMessage.objects.bulk_create(
        OutboxMessage(actor_name="expire_quotes", schema_name=f"t_{n}", run_at=later) for n in range(500)
    )
    command = run_scheduler.Command()
    next_run = {actor.actor_name: float("inf") for actor, _ in run_scheduler.PERIODIC_JOBS}
    next_run[run_scheduler.REPUBLISH] = float("inf")  # its own timer, at most once a minute

    with CaptureQueriesContext(connection) as queries:
        command.run_pass(next_run)

    statements = [query["sql"] for query in queries.captured_queries if not query["sql"].startswith("SET ")]
    assert len(statements) == 1, statements
    assert "outbox_outboxmessage" in statements[0]
