"""Recurring visits: what booking a series ahead costs, and the daily horizon job.

- create: `create_series` for a weekly rule (13 visits in the 90-day horizon) and a daily one
  (91 visits), each visit an ordinary booking (guards, constraint, event): median ms and
  queries of ROUNDS series each.
- horizon job: `materialise_series` over SERIES weekly series when nothing is due (the same
  day again) and when the horizon moves a week on (one new visit each).

`.venv/bin/python -m bench.series`; writes bench/results/series.json.
"""

import statistics
import time
from datetime import UTC, date, datetime, timedelta

ROUNDS = 5
SERIES = 50


def measure(call) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        call()
        elapsed_ms = (time.perf_counter() - started) * 1000
    return elapsed_ms, len([q for q in captured.captured_queries if not q["sql"].startswith("SET ")])


def main() -> dict:
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.services import register_business
    from tenant_apps.appointments import series
    from tenant_apps.customers.models import Customer

    tokens = register_business(business_name="Bench Cleaning", email="series@bench.test", password="bench-password-1")
    tenant = tokens.tenant
    # A fixed Monday well ahead, so figures never depend on the day the bench runs.
    start = date(datetime.now(UTC).year + 1, 1, 4)
    start -= timedelta(days=start.weekday())
    now = datetime.combine(start, datetime.min.time(), tzinfo=tenant.zone)
    figures: dict = {"horizon_days": 90, "rounds": ROUNDS, "series": SERIES}
    with tenant_context(tenant):

        def create(rule: str, hour: int) -> None:
            customer = Customer.objects.create(name="Bench customer")
            series.create_series(
                tenant=tenant,
                customer_id=customer.pk,
                title="Cleaning",
                starts_at=now.replace(hour=hour),
                duration_minutes=30,
                rrule=rule,
                now=now,
            )

        for name, rule in (("weekly", "FREQ=WEEKLY"), ("daily", "FREQ=DAILY")):
            runs = [measure(lambda hour=hour, rule=rule: create(rule, hour)) for hour in range(6, 6 + ROUNDS)]
            figures[f"create_{name}"] = {
                "median_ms": round(statistics.median(ms for ms, _ in runs), 1),
                "queries": runs[0][1],
            }
        for n in range(SERIES - ROUNDS):
            create("FREQ=WEEKLY", 6 + ROUNDS + n % 12)
        for name, at in (("nothing_due", now), ("one_week_on", now + timedelta(weeks=1))):
            ms, queries = measure(lambda at=at: series.materialise_series(tenant=tenant, now=at))
            figures[f"horizon_job_{name}"] = {"ms": round(ms, 1), "queries": queries}
    return figures


def print_figures(figures: dict) -> None:
    for key, value in figures.items():
        print(f"{key:28} {value}")


if __name__ == "__main__":
    from bench.setup import run_in_process

    run_in_process("series", main, print_figures)
