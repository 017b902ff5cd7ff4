"""A scheduler pass with many tenants: queries and time of `run_scheduler`'s pass when nothing
is due and when 100 reminders are due, with 1,000 and 10,000 tenants' daily rows waiting in
the outbox (two per tenant, due at their next 00:05, plus yesterday's two, published). The
rows stand for tenants; no schemas are made. Publishing goes to Dramatiq's in-memory stub
broker, so the figures are the database side of a pass. Median of ROUNDS passes each.

`.venv/bin/python -m bench.scheduler`; writes bench/results/scheduler.json.
"""

import json
import os
import statistics
import time
from datetime import timedelta

import django

TENANT_COUNTS = (1_000, 10_000)
DUE_REMINDERS = 100
ROUNDS = 20


def fill_outbox(tenants: int) -> None:
    from django.utils import timezone

    from shared_apps.outbox.models import OutboxMessage

    OutboxMessage.objects.all().delete()
    now = timezone.now()
    rows = []
    for n in range(tenants):
        for job in ("expire_quotes", "mark_overdue_invoices"):
            kwargs = {"tenant_id": n, "local_day": "2026-11-27"}
            rows.append(
                OutboxMessage(
                    actor_name=job, schema_name=f"t_{n:016x}", run_at=now + timedelta(hours=6 + n % 20), kwargs=kwargs
                )
            )
            rows.append(
                OutboxMessage(
                    actor_name=job,
                    schema_name=f"t_{n:016x}",
                    run_at=now - timedelta(hours=18),
                    published_at=now,
                    kwargs=kwargs,
                )
            )
    OutboxMessage.objects.bulk_create(rows, batch_size=5000)


def add_due_reminders() -> list[int]:
    from django.utils import timezone

    from shared_apps.outbox.models import OutboxMessage

    now = timezone.now()
    rows = [
        OutboxMessage(
            actor_name="send_appointment_reminder",
            schema_name=f"t_{n:016x}",
            run_at=now - timedelta(seconds=n),
            kwargs={"tenant_id": n, "appointment_id": n, "hours": 2, "starts_at": "", "due_at": ""},
        )
        for n in range(DUE_REMINDERS)
    ]
    return [row.pk for row in OutboxMessage.objects.bulk_create(rows)]


def measure_pass(run_pass) -> tuple[int, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()  # the log keeps 9,000 entries; counts need it to start empty
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        run_pass()
        elapsed_ms = (time.perf_counter() - started) * 1000
    # Every statement sent, BEGIN and COMMIT included; only the search_path reset is left out.
    return len([q for q in captured.captured_queries if not q["sql"].startswith("SET ")]), elapsed_ms


def main() -> dict:
    from django.db import connection
    from django.utils import timezone

    from shared_apps.outbox.models import OutboxMessage
    from shared_apps.outbox.services import due_messages
    from tasks.broker import broker
    from tasks.management.commands import run_scheduler

    command = run_scheduler.Command()
    never = {actor.actor_name: float("inf") for actor, _ in run_scheduler.PERIODIC_JOBS}
    results: dict = {"rounds": ROUNDS, "due_reminders": DUE_REMINDERS, "tenants": {}}
    for tenants in TENANT_COUNTS:
        fill_outbox(tenants)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE outbox_outboxmessage")
        # The probe each pass starts with (shared_apps/outbox/services.py: relay_outbox).
        plan = due_messages(now=timezone.now()).values_list("pk", flat=True)[:1].explain()
        idle = [measure_pass(lambda: command.run_pass(never)) for _ in range(ROUNDS)]
        busy = []
        for _ in range(ROUNDS):
            ids = add_due_reminders()
            busy.append(measure_pass(lambda: command.run_pass(never)))
            assert not OutboxMessage.objects.filter(pk__in=ids, published_at__isnull=True).exists()
            OutboxMessage.objects.filter(pk__in=ids).delete()
            broker.flush_all()
        results["tenants"][str(tenants)] = {
            "outbox_rows": OutboxMessage.objects.count(),
            "nothing_due": {"queries": idle[-1][0], "ms_p50": round(statistics.median(t for _, t in idle), 3)},
            "reminders_due": {"queries": busy[-1][0], "ms_p50": round(statistics.median(t for _, t in busy), 3)},
            "due_probe_plan": plan.splitlines()[:3],
        }
        print(tenants, json.dumps(results["tenants"][str(tenants)], indent=1), flush=True)
    return results


if __name__ == "__main__":
    from bench.setup import recreate_bench_database, write_results

    os.environ["DATABASE_URL"] = recreate_bench_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ["DRAMATIQ_STUB_BROKER"] = "1"
    django.setup()
    figures = main()
    write_results("scheduler", figures)
