"""A release's tenant migration over many schemas (`--tenants N`, 1,000 by default), in one run.

1. build: N tenants with their schemas, 5 customers and an owner, as bench/scale.py builds them
   (`create_tenant`), except that the schemas are made ahead, in the pool, by a few connections
   at once (captured DDL), so that `create_tenant` only claims them.
2. deploy: one new migration written on the fly, not in the repository (`write_new_migration`:
   a nullable column and an index on customers_customer), applied by `migrate_tenants_if_needed
   --executor=multiprocessing` with the new code's settings (bench/scale_settings.py) over every
   schema, while the old code (gunicorn, core 0) serves a rotation over every tenant; the old
   code's errors and latencies then, against a rotation just before, and the command's log line
   of each migration (replayed or executor).
3. start: the same command again with nothing to migrate, as `make run` starts, timed as a
   whole (the process start included).

`--resume` keeps the bench database of a run stopped while it pooled schemas, and makes only
the rest. Writes bench/results/migrate.json (or migrate_<N>.json for a size other than 1,000).
`--start-at R` measures only the start, on the last run's database with rows of tenants whose
schemas were never built added up to R rows (bench/results/migrate_start_<R>.json).
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable

import django

from bench.setup import ROOT, bench_database_url, recreate_bench_database, write_results

NEW_MIGRATION = "9000_bench_note"
BASELINE_REQUESTS = 2000
POOL_WORKERS = 3

NEW_MIGRATION_SOURCE = '''"""Written by bench/migrate.py for one run: the release's new tenant migration."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("customers", "{leaf}")]

    operations = [
        migrations.AddField("customer", "bench_note", models.TextField(null=True, blank=True)),
        migrations.AddIndex("customer", models.Index(fields=["bench_note"], name="customer_bench_note")),
    ]
'''


def write_new_migration(directory: str) -> dict[str, str]:
    """A package in `directory` holding customers' migrations (linked) plus one new one; returns
    the environment that makes a process run the new code (bench/scale_settings.py)."""
    from django.db.migrations.loader import MigrationLoader

    (leaf,) = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("customers")
    package = os.path.join(directory, "bench_new_code", "customers_migrations")
    os.makedirs(package)
    open(os.path.join(directory, "bench_new_code", "__init__.py"), "w").close()
    source = os.path.join(ROOT, "tenant_apps", "customers", "migrations")
    for name in os.listdir(source):
        if name.endswith(".py"):
            os.symlink(os.path.join(source, name), os.path.join(package, name))
    with open(os.path.join(package, f"{NEW_MIGRATION}.py"), "w") as handle:
        handle.write(NEW_MIGRATION_SOURCE.format(leaf=leaf[1]))
    return {
        "DJANGO_SETTINGS_MODULE": "bench.scale_settings",
        "BENCH_CUSTOMERS_MIGRATIONS": "bench_new_code.customers_migrations",
        "PYTHONPATH": directory,
        "DB_POOL": "false",
    }


def make_pooled_schemas(count: int) -> float:
    """`count` ready schemas in the pool (fewer if some are there from a run that was stopped),
    POOL_WORKERS connections at once; returns seconds."""
    from django.db import connections

    from shared_apps.tenants import provisioning
    from shared_apps.tenants.models import Tenant

    provisioning.captured_tenant_ddl()
    count -= Tenant.objects.filter(status=Tenant.Status.POOLED).count()
    started = time.perf_counter()

    def make(share: int) -> None:
        try:
            for done in range(share):
                provisioning.create_pooled_tenant()
                if (done + 1) % 500 == 0:
                    print(f"  {done + 1} schemas in one of {POOL_WORKERS} connections", flush=True)
        finally:
            connections.close_all()

    return run_shares(make, count, started)


def clone_pooled_schemas(count: int) -> float:
    """Like make_pooled_schemas, but each schema a copy of the first pooled one (`pg_dump
    --schema-only`, the name replaced), with its migration rows and pooled Tenant row: at 10,000
    tenants a schema built from the captured DDL, which replays every migration's ALTER TABLEs,
    takes PostgreSQL 15 about 2 s (each ADD COLUMN with a default looks through the catalog), a
    copy of the final tables 0.2 s. The run's figures are about serving and migrating those
    schemas, which are the same either way. Returns seconds."""
    import psycopg

    from shared_apps.tenants import provisioning
    from shared_apps.tenants.models import Tenant

    if not Tenant.objects.filter(status=Tenant.Status.POOLED).exists():
        provisioning.create_pooled_tenant()
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
        [(template,)] = connection.execute(
            "SELECT schema_name FROM tenants_tenant WHERE status = %s ORDER BY id LIMIT 1", [Tenant.Status.POOLED]
        ).fetchall()
        columns = [
            row[0]
            for row in connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = 'tenants_tenant' AND column_name NOT IN ('id', 'schema_name')"
            )
        ]
    count -= Tenant.objects.filter(status=Tenant.Status.POOLED).count()
    dump = subprocess.run(
        ["pg_dump", "--schema-only", "-n", template, os.environ["DATABASE_URL"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # psql's own commands (\restrict) are not SQL; the schema name is a random identifier. The
    # owner is this connection's user already, and naming a function makes PostgreSQL read
    # every schema's function of that name.
    ddl = "\n".join(
        line
        for line in dump.splitlines()
        if not line.startswith("\\") and not (line.startswith("ALTER ") and " OWNER TO " in line)
    )
    listed = ", ".join(columns)
    started = time.perf_counter()

    def clone(share: int) -> None:
        with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
            for done in range(share):
                name = provisioning.new_schema_name()
                with connection.transaction():
                    connection.execute(ddl.replace(template, name).encode())
                    connection.execute(
                        f"INSERT INTO {name}.django_migrations (app, name, applied) "  # noqa: S608
                        f"SELECT app, name, applied FROM {template}.django_migrations"
                    )
                    connection.execute(
                        f"INSERT INTO public.tenants_tenant (schema_name, {listed}) "  # noqa: S608
                        f"SELECT %s, {listed} FROM public.tenants_tenant WHERE schema_name = %s",
                        [name, template],
                    )
                if (done + 1) % 500 == 0:
                    print(f"  {done + 1} schemas copied in one of {POOL_WORKERS} connections", flush=True)

    return run_shares(clone, count, started)


def run_shares(make: Callable[[int], None], count: int, started: float) -> float:
    """`make(share)` in POOL_WORKERS threads, the shares adding up to `count`; the seconds since
    `started`, once all are done. A failure stops the run: the tenants would be built the slow
    way instead."""
    shares = [count // POOL_WORKERS + (index < count % POOL_WORKERS) for index in range(POOL_WORKERS)]
    failures: list[BaseException] = []

    def run(share: int) -> None:
        try:
            make(share)
        except BaseException as error:
            failures.append(error)
            raise

    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError("building the pool failed") from failures[0]
    return round(time.perf_counter() - started, 1)


def latency_summary(latencies: list[float], statuses: list[int]) -> dict:
    from bench.scale import percentile

    return {
        "requests": len(latencies),
        "non_200": sum(status != 200 for status in statuses),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
    }


def serve_rotation(targets: list, stop: threading.Event, limit: int | None = None) -> tuple[list[float], list[int]]:
    """One client rotating over every tenant until `stop` is set (or `limit` requests)."""
    from bench.scale import Client

    client = Client()
    latencies: list[float] = []
    statuses: list[int] = []
    index = 0
    while not stop.is_set() and (limit is None or index < limit):
        elapsed, status = client.get(targets[index % len(targets)])
        latencies.append(elapsed)
        statuses.append(status)
        index += 1
    return latencies, statuses


def run_command(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate_tenants_if_needed", "--executor=multiprocessing", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return round(time.perf_counter() - started, 2), done.stdout


def schemas_with_new_column() -> tuple[int, int]:
    """Tenant schemas holding the new column, and the new index."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM information_schema.columns WHERE column_name = 'bench_note'),"
            " (SELECT count(*) FROM pg_indexes WHERE indexname = 'customer_bench_note')"
        )
        return cursor.fetchone()


def measure_deploy(env: dict[str, str], targets: list) -> dict:
    """The new migration over every schema while the old code serves, then nothing to migrate."""
    stop = threading.Event()
    before = latency_summary(*serve_rotation(targets, stop, limit=BASELINE_REQUESTS))
    with tempfile.TemporaryDirectory() as directory:
        new_code = {**env, **write_new_migration(directory)}
        during: dict[str, list] = {}

        def serve() -> None:
            during["latencies"], during["statuses"] = serve_rotation(targets, stop)

        reader = threading.Thread(target=serve)
        reader.start()
        load_before = os.getloadavg()[0]
        try:
            migrate_seconds, output = run_command(new_code, "-v", "1")
        finally:
            stop.set()
            reader.join()
        load_after = os.getloadavg()[0]
        nothing_seconds, _ = run_command(new_code, "-v", "0")
    columns, indexes = schemas_with_new_column()
    return {
        "migrate_one_new_migration_s": migrate_seconds,
        # The command's own figure: its tenant passes, without the process start and public schema.
        "tenant_schemas_s": float(output.rsplit(" in ", 1)[1].split(" s.")[0]),
        "per_schema_ms": round(migrate_seconds / len(targets) * 1000, 1),
        "load_average_1m_before_and_after": [round(load_before, 1), round(load_after, 1)],
        "migration_log": [line for line in output.splitlines() if "schemas)" in line],
        "schemas_with_new_column_and_index": [columns, indexes],
        "nothing_to_migrate_s": nothing_seconds,
        "old_code_before_migration": before,
        "old_code_during_migration": latency_summary(during["latencies"], during["statuses"]),
    }


def add_unbuilt_tenant_rows(total: int) -> int:
    """Copies of the first tenant's row, with schema names of schemas never built, up to `total`
    rows; returns how many were added."""
    from django.db import connection

    from shared_apps.tenants.models import Tenant

    columns = [
        field.column for field in Tenant._meta.concrete_fields if field.name not in ("id", "schema_name", "slug")
    ]
    listed = ", ".join(connection.ops.quote_name(column) for column in columns)
    missing = total - Tenant.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Tenant._meta.db_table} (schema_name, slug, {listed}) "  # noqa: S608 - the model's names
            f"SELECT 't_unbuilt_' || n, 'unbuilt-' || n, {listed} FROM {Tenant._meta.db_table}, "
            f"generate_series(1, %s) AS n WHERE id = (SELECT min(id) FROM {Tenant._meta.db_table})",
            [missing],
        )
    return max(missing, 0)


def measure_start(total: int) -> dict:
    """`make run`'s migrate step with nothing to migrate over `total` tenant rows: the tenants of
    the last run, migrated, and rows of tenants whose schemas were never built (with nothing to
    migrate the command reads no tenant schema, only the Tenant table)."""
    from shared_apps.tenants.models import Tenant

    with tempfile.TemporaryDirectory() as directory:
        new_code = {**os.environ, **write_new_migration(directory)}
        # What the last run left behind (a run stopped while building) is migrated first.
        first_seconds, output = run_command(new_code, "-v", "1")
        built = Tenant.objects.count()
        added = add_unbuilt_tenant_rows(total)
        runs = [run_command(new_code, "-v", "0")[0] for _ in range(3)]
    return {
        "first_run": {
            "schemas": built,
            "seconds": first_seconds,
            "log": [line for line in output.splitlines() if "schemas" in line],
        },
        "tenant_rows": built + added,
        "of_which_schema_never_built": added,
        "nothing_to_migrate_s": runs,
        "load_average_1m": round(os.getloadavg()[0], 1),
    }


def main(tenant_count: int, *, copy_schemas: bool = False) -> dict:
    from bench.http import start_server
    from bench.scale import CUSTOMERS_PER_TENANT, build_tenants, existing_targets, server_env

    figures: dict = {"tenants": tenant_count, "customers_per_tenant": CUSTOMERS_PER_TENANT}
    from shared_apps.tenants.models import Tenant

    built = Tenant.objects.filter(status=Tenant.Status.ACTIVE).count()  # by a run stopped (--resume)
    make_pool = clone_pooled_schemas if copy_schemas else make_pooled_schemas
    figures["pool_seconds"] = make_pool(tenant_count - built)
    figures["schemas_copied"] = copy_schemas
    print(f"pooled {tenant_count - built} schemas in {figures['pool_seconds']} s", flush=True)
    started = time.perf_counter()
    targets = existing_targets() if built else []
    targets += build_tenants(tenant_count - built, start=built)[0]
    figures["claim_seconds"] = round(time.perf_counter() - started, 1)
    env = server_env()
    server = start_server(env, port=int(env["PORT"]))
    try:
        serve_rotation(targets, threading.Event(), limit=len(targets))  # the warm-up pass, as bench/scale.py's
        figures["deploy"] = measure_deploy(env, targets)
        print(f"deploy: {figures['deploy']}", flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument(
        "--start-at",
        type=int,
        help="only the start with nothing to migrate, on the last run's tenants plus unbuilt rows up to this many",
    )
    parser.add_argument(
        "--resume", action="store_true", help="keep the bench database and the schemas a stopped run pooled in it"
    )
    parser.add_argument(
        "--copy-schemas", action="store_true", help="pool copies of the first schema built (clone_pooled_schemas)"
    )
    arguments = parser.parse_args()
    if arguments.start_at:
        os.environ["DATABASE_URL"] = bench_database_url()
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
        django.setup()
        start = measure_start(arguments.start_at)
        print(f"written to {write_results(f'migrate_start_{arguments.start_at}', start)}")
        sys.exit(0)
    os.environ["DATABASE_URL"] = bench_database_url() if arguments.resume else recreate_bench_database()
    os.environ["TENANT_POOL_SIZE"] = "0"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["JWT_EXPIRES_IN"] = "86400"  # the tokens made while building outlive the run
    django.setup()
    results = main(arguments.tenants, copy_schemas=arguments.copy_schemas)
    name = "migrate" if results["tenants"] == 1000 else f"migrate_{results['tenants']}"
    print(f"written to {write_results(name, results)}")
