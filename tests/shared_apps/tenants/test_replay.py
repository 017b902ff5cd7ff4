"""Tenant migrations replayed from SQL collected once build the same schema as Django's
executor, migration by migration (compared with `pg_dump --schema-only`), and a replay happens
in one transaction per schema, or not at all."""

import logging
import re
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from django.db import connection, migrations
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import get_public_schema_name, schema_context

from shared_apps.accounts.portability import _libpq_command
from shared_apps.tenants import fingerprints, replay

INDEX_MIGRATION = ("customers", "0002_search_indexes")


def create_empty_schema(schema_name: str) -> None:
    """A schema with only its django_migrations table, as django-tenants starts one."""
    public = get_public_schema_name()
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE SCHEMA "{schema_name}";'
            f'CREATE TABLE "{schema_name}".django_migrations (LIKE "{public}".django_migrations INCLUDING ALL)'
        )


def drop_schema(schema_name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')


@pytest.fixture
def schemas(unblocked_db) -> Iterator[Callable[[], str]]:
    names: list[str] = []

    def make() -> str:
        name = f"t_replay_{uuid.uuid4().hex[:10]}"
        create_empty_schema(name)
        names.append(name)
        return name

    yield make
    for name in names:
        drop_schema(name)


def dumps(*schema_names: str) -> list[str]:
    """`pg_dump --schema-only` of the schemas (one run), split into each schema's objects with
    its name replaced by SCHEMA, sorted (pg_dump orders by name, and the names differ)."""
    command, env = _libpq_command("pg_dump")
    selection = [argument for name in schema_names for argument in ("--schema", name)]
    dump = subprocess.run(
        [*command, "--schema-only", "--no-owner", *selection], env=env, capture_output=True, text=True
    )
    assert dump.returncode == 0, dump.stderr
    objects: dict[str, list[str]] = {name: [] for name in schema_names}
    body = dump.stdout.split("\n--\n-- PostgreSQL database dump complete")[0]
    _preamble, *blocks = re.split(r"\n(?=--\n-- Name: )", body)  # the preamble: settings only
    for block in blocks:
        header = re.match(r"--\n-- Name: ([^;]*); Type: ([^;]*); Schema: ([^;]*);", block)
        assert header is not None, block
        owner = header[1] if header[2] == "SCHEMA" else header[3]
        # pg_dump's session settings land in whichever object precedes them.
        lines = [line for line in block.splitlines() if not line.startswith(("SET ", "SELECT pg_catalog.set_config"))]
        objects[owner].append(re.sub(rf"\b{owner}\b", "SCHEMA", "\n".join(lines).strip()))
    return ["\n\n".join(sorted(parts)) for parts in objects.values()]


def migration_rows(schema_name: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema_name}".django_migrations')  # noqa: S608
        return {(app, name) for app, name in cursor.fetchall()}


def test_every_tenant_migration_replayed_builds_what_the_executor_builds(schemas):
    # Given an executor's schema, a replayed one and one replaying everything at once, all empty
    by_executor, replayed, at_once = schemas(), schemas(), schemas()
    with schema_context(by_executor):
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        executor_state = executor._create_project_state(with_applied_migrations=True)
    replay_state = executor_state.clone()
    applied: set[tuple[str, str]] = set()
    compared = []
    collected: list[tuple[tuple[str, str], str]] = []

    # When each migration is applied by the executor in one, replayed in the other
    for migration, _ in plan:
        key = (migration.app_label, migration.name)
        with schema_context(by_executor):
            executor_state = executor.apply_migration(executor_state, migration)
        replay_state, sql, reason = replay.collect_sql(migration=migration, state=replay_state, schema_name=replayed)
        assert reason is None, f"{key} is not replayable: {reason}"
        outcome = replay.replay(schemas=[replayed], expected=frozenset(applied), batch=[(key, sql)], workers=1)
        assert outcome == {"moved": [], "failed": []}
        applied.add(key)
        collected.append((key, sql))
        # Then after every migration that changes a tenant schema, the two dump the same
        if any(line.strip() and not line.startswith("--") for line in sql.splitlines()):
            executor_dump, replayed_dump = dumps(by_executor, replayed)
            assert replayed_dump == executor_dump, f"after {key}"
            compared.append(key)

    assert len(compared) >= 40  # every tenant app's migrations, not only a few
    assert migration_rows(replayed) == migration_rows(by_executor) == set(fingerprints.code_migrations())

    # And the SQL of every migration replayed in one transaction, as in the schemas after the
    # first of a group, builds the same schema too
    outcome = replay.replay(schemas=[at_once], expected=frozenset(), batch=collected, workers=1)
    assert outcome == {"moved": [], "failed": []}
    final = dumps(by_executor, at_once)
    assert final[1] == final[0]
    assert fingerprints.applied_fingerprint(schema_name=at_once) == fingerprints.code_fingerprint()


def test_python_migrations_and_schema_dependent_sql_are_left_to_the_executor(schemas):
    tenant_schema = schemas()
    python = migrations.Migration("0099_python", "customers")
    python.operations = [migrations.RunPython(migrations.RunPython.noop)]
    shared_python = migrations.Migration("0099_python", "outbox")
    shared_python.operations = [migrations.RunPython(migrations.RunPython.noop)]
    not_atomic = migrations.Migration("0099_concurrently", "customers")
    not_atomic.atomic = False
    squashed = migrations.Migration("0001_squashed_0002", "customers")
    squashed.replaces = [("customers", "0001_initial"), INDEX_MIGRATION]

    with schema_context(tenant_schema):
        assert replay.non_replayable_reason(python) == "runs Python (cannot be written as SQL)"
        # A shared app's Python is skipped in tenant schemas by the router: nothing to run.
        assert replay.non_replayable_reason(shared_python) is None
        assert replay.non_replayable_reason(not_atomic).startswith("not atomic")
        assert replay.non_replayable_reason(squashed).startswith("squashed")
    assert replay.sql_reason(sql=f'CREATE INDEX i ON "{tenant_schema}".t (a);', schema_name=tenant_schema)
    assert replay.sql_reason(sql="SELECT set_config('search_path', 'x', true);", schema_name=tenant_schema)
    assert replay.sql_reason(sql="CREATE INDEX i ON t (current_schema());", schema_name=tenant_schema) is None


def at_state_before(schema_name: str, key: tuple[str, str]) -> frozenset[tuple[str, str]]:
    """Migrate an empty schema to just before `key` (the executor) and return its rows."""
    with schema_context(schema_name):
        executor = MigrationExecutor(connection)
        parents = executor.loader.graph.node_map[key].parents
        executor.migrate([(parent.key[0], parent.key[1]) for parent in parents])
    return frozenset(migration_rows(schema_name))


def test_a_failing_replay_leaves_its_schema_untouched_and_others_migrated(schemas):
    # Given two schemas just before the customers' index migration, one of them holding an
    # index of the same name already
    clean, clashing = schemas(), schemas()
    before = at_state_before(clean, INDEX_MIGRATION)
    assert at_state_before(clashing, INDEX_MIGRATION) == before
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE INDEX customer_name_trgm ON "{clashing}".customers_customer (id)')
    migration = MigrationExecutor(connection).loader.get_migration(*INDEX_MIGRATION)
    with schema_context(clean):
        state = MigrationExecutor(connection).loader.project_state(INDEX_MIGRATION, at_end=False)
    _, sql, reason = replay.collect_sql(migration=migration, state=state, schema_name=clean)
    assert reason is None and "customer_name_trgm" in sql

    # When the migration is replayed in both
    outcome = replay.replay(schemas=[clean, clashing], expected=before, batch=[(INDEX_MIGRATION, sql)], workers=2)

    # Then the clash is reported and rolled back whole; the other schema is migrated
    assert outcome == {"moved": [], "failed": [clashing]}
    assert INDEX_MIGRATION in migration_rows(clean)
    assert migration_rows(clashing) == before
    assert fingerprints.applied_fingerprint(schema_name=clean) == fingerprints.fingerprint(
        (before | {INDEX_MIGRATION}) & fingerprints.code_migrations()
    )


def test_a_schema_at_another_state_is_not_replayed(schemas):
    schema_name = schemas()
    before = at_state_before(schema_name, INDEX_MIGRATION)

    outcome = replay.replay(
        schemas=[schema_name],
        expected=before - {("customers", "0001_initial")},
        batch=[(INDEX_MIGRATION, "")],
        workers=1,
    )

    assert outcome == {"moved": [schema_name], "failed": []}
    assert migration_rows(schema_name) == before


def test_a_replay_gives_way_to_a_busy_table_and_retries(schemas, monkeypatch, caplog):
    # Given a schema whose customers table an old-code transaction holds for a while
    schema_name = schemas()
    before = at_state_before(schema_name, INDEX_MIGRATION)
    monkeypatch.setattr(replay, "REPLAY_LOCK_TIMEOUT", "100ms")
    caplog.set_level(logging.INFO, logger="tenants.migrations")
    params = {**connection.get_connection_params(), "autocommit": True}
    holding, released = threading.Event(), threading.Event()

    def old_code() -> None:
        with psycopg.connect(**params) as db, db.transaction():
            db.execute(f'LOCK TABLE "{schema_name}".customers_customer IN ACCESS SHARE MODE')
            holding.set()
            released.wait(10)

    holder = threading.Thread(target=old_code)
    holder.start()
    holding.wait(10)
    sql = "ALTER TABLE customers_customer ADD COLUMN replay_probe text NULL;"
    threading.Timer(0.4, released.set).start()

    # When the replay meets the lock, it gives up within the timeout and retries
    outcome = replay.replay(schemas=[schema_name], expected=before, batch=[(INDEX_MIGRATION, sql)], workers=1)
    holder.join()

    # Then it succeeds once the table is free
    assert any("busy (attempt 1)" in record.getMessage() for record in caplog.records)
    assert outcome == {"moved": [], "failed": []}
    assert INDEX_MIGRATION in migration_rows(schema_name)
