"""Migrating many tenant schemas: a migration's SQL is computed once, then replayed in each.

django-tenants runs Django's `migrate` in every schema, so every schema pays for loading the
migration graph, rendering model states and planning (most of a second), though all schemas at
the same state get the same SQL. Here stale schemas are grouped by what they have applied (their
fingerprint). In each group one schema, the pilot, is migrated one migration at a time: the
migration's SQL is collected against the pilot at the previous state (what `sqlmigrate` prints,
in the tenant schema's search path, so the router and introspection see a tenant schema), then
run there. The other schemas of the group then run the SQL of every replayed migration, in
parallel connections, one transaction per schema: search path set, the schema checked to be at
the group's state, the SQL, its django_migrations rows and its fingerprint. A schema is locked
only for its own transaction, so the old code keeps serving every other tenant, and a lock it
cannot get within REPLAY_LOCK_TIMEOUT is retried instead of queueing the tenant's requests.

A migration goes through Django's executor in every schema of its group instead, when replaying
it might not do what the executor does (`non_replayable_reason`): an operation that is not SQL
(RunPython), a non-atomic or squashed migration, or collected SQL that names the pilot's schema
or sets the search path. A schema where the replayed SQL fails (say, a constraint named
differently there) is migrated by the executor. Each choice is logged.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

import psycopg
from django.db import connection, router
from django.db.migrations import Migration
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import ProjectState
from django_tenants.utils import get_public_schema_name, schema_context

from shared_apps.tenants import fingerprints
from shared_apps.tenants.models import Tenant

logger = logging.getLogger("tenants.migrations")

MigrationKey = tuple[str, str]
# Migrates the schemas to the migration with Django's executor (django-tenants' executors).
RunExecutor = Callable[[MigrationKey, list[str]], None]

# A replayed schema waits at most this long for a table lock (a long query of the old code),
# then its transaction is retried: waiting longer would queue the tenant's requests behind it.
REPLAY_LOCK_TIMEOUT = "3s"
REPLAY_LOCK_ATTEMPTS = 5


def runs_python_in_tenant_schema(migration: Migration) -> bool:
    """Shared apps' RunPython operations are skipped in tenant schemas by the router; only a
    non-SQL operation that the router lets run there cannot be written down as SQL. Call in a
    tenant schema's context (the router reads the connection's schema)."""
    return any(
        not operation.reduces_to_sql
        and router.allow_migrate(connection.alias, migration.app_label, **getattr(operation, "hints", {}))
        for operation in migration.operations
    )


def non_replayable_reason(migration: Migration) -> str | None:
    """Why the migration's SQL, collected in one schema, may not be what the executor would
    run in another; None when replaying it is the same."""
    if migration.replaces:
        return "squashed (the executor records the migrations it replaces)"
    if not migration.atomic:
        return "not atomic (its SQL cannot share the schema's transaction)"
    if runs_python_in_tenant_schema(migration):
        return "runs Python (cannot be written as SQL)"
    return None


def sql_reason(*, sql: str, schema_name: str) -> str | None:
    """Collected SQL that names the schema it was collected in, or changes the search path,
    would act on the wrong schema elsewhere."""
    if schema_name in sql:
        return "its SQL names the schema it was collected in"
    if "search_path" in sql.lower():
        return "its SQL sets the search path"
    return None


def collect_sql(*, migration: Migration, state: ProjectState, schema_name: str) -> tuple[ProjectState, str, str | None]:
    """The migration's SQL as the executor would run it in `schema_name`, at `state` (that of
    the schema, before the migration): what `sqlmigrate` prints, collected in the schema's
    search path. Returns the state after the migration, the SQL, and why it cannot be replayed
    elsewhere (None when it can)."""
    with schema_context(schema_name):
        reason = non_replayable_reason(migration)
        if reason is not None:
            return migration.mutate_state(state, preserve=False), "", reason
        with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
            state = migration.apply(state, editor, collect_sql=True)
    sql = "\n".join(editor.collected_sql)
    return state, sql, sql_reason(sql=sql, schema_name=schema_name)


def migrate_stale_schemas(
    *, schema_names: Sequence[str], run_executor: RunExecutor, workers: int, log: Callable[[str], None]
) -> None:
    """Bring every schema to the code's migrations, replaying what can be replayed."""
    groups: dict[str, list[str]] = {}
    for schema_name, value in fingerprints.applied_fingerprints(schema_names=schema_names).items():
        if value != fingerprints.code_fingerprint():
            groups.setdefault(value, []).append(schema_name)
    for schemas in groups.values():
        _migrate_group(schemas=schemas, run_executor=run_executor, workers=workers, log=log)


def _migrate_group(*, schemas: list[str], run_executor: RunExecutor, workers: int, log: Callable[[str], None]) -> None:
    """Schemas at one state: the pilot migrated migration by migration, the others after it."""
    pilot, others = schemas[0], schemas[1:]
    with schema_context(pilot):
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        state = executor._create_project_state(with_applied_migrations=True)  # type: ignore[attr-defined]  # what migrate() starts from
        applied = set(executor.loader.applied_migrations) & fingerprints.code_migrations()
    others_state = frozenset(applied)
    batch: list[tuple[MigrationKey, str]] = []

    def flush() -> None:
        nonlocal batch, others_state
        if batch and others:
            failed = replay(schemas=others, expected=others_state, batch=batch, workers=workers)["failed"]
            if failed:
                for key, _ in batch:
                    logger.warning("tenant migration %s.%s: executor where replaying failed: %s", *key, failed)
                    run_executor(key, failed)
        others_state = frozenset(applied)
        batch = []

    for migration, backwards in plan:
        if backwards:
            raise RuntimeError(f"Unexpected backwards migration {migration} in the plan of {pilot}.")
        key = (migration.app_label, migration.name)
        state, sql, reason = collect_sql(migration=migration, state=state, schema_name=pilot)
        if reason is None:
            outcome = replay(schemas=[pilot], expected=frozenset(applied), batch=[(key, sql)], workers=1)
            if outcome["moved"]:
                raise RuntimeError(f"Tenant schema {pilot} was migrated by something else meanwhile; run again.")
            if outcome["failed"]:
                reason = "its SQL failed in the schema it was collected in"
        if reason is None:
            batch.append((key, sql))
        else:
            flush()
            run_executor(key, schemas)
        applied.add(key)
        how = "replayed" if reason is None else f"executor: {reason}"
        logger.info("tenant migration %s.%s over %d schemas: %s", *key, len(schemas), how)
        log(f"{key[0]}.{key[1]}: {how} ({len(schemas)} schemas)")
    flush()


def replay(
    *, schemas: Sequence[str], expected: frozenset[MigrationKey], batch: list[tuple[MigrationKey, str]], workers: int
) -> dict[str, list[str]]:
    """Run the batch's SQL in each schema, `workers` connections at once, one transaction per
    schema. Returns the schemas where it "failed" (rolled back) and those found at another state
    than `expected` ("moved": migrated meanwhile), left alone: their fingerprints stay stale, so
    the command's next pass takes them up."""
    pending: queue.SimpleQueue[str] = queue.SimpleQueue()
    for schema_name in schemas:
        pending.put(schema_name)
    moved_or_failed: dict[str, list[str]] = {"moved": [], "failed": []}
    errors: list[BaseException] = []
    after = expected | {key for key, _ in batch}
    new_fingerprint = fingerprints.fingerprint(after & fingerprints.code_migrations())
    params = {**connection.get_connection_params(), "autocommit": True}
    public = connection.ops.quote_name(get_public_schema_name())
    names = {name: connection.ops.quote_name(name) for name in schemas}

    def work() -> None:
        try:
            with psycopg.connect(**params) as db:
                while True:
                    try:
                        schema_name = pending.get_nowait()
                    except queue.Empty:
                        return
                    outcome = _replay_in_schema(
                        db,
                        schema_name=schema_name,
                        quoted=(names[schema_name], public),
                        expected=expected,
                        batch=batch,
                        new_fingerprint=new_fingerprint,
                    )
                    if outcome != "done":
                        moved_or_failed[outcome].append(schema_name)
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(max(1, min(workers, len(schemas))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return moved_or_failed


def _replay_in_schema(
    db: psycopg.Connection,
    *,
    schema_name: str,
    quoted: tuple[str, str],
    expected: frozenset[MigrationKey],
    batch: list[tuple[MigrationKey, str]],
    new_fingerprint: str,
) -> str:
    """One schema's transaction: "done", "moved" (not at the expected state) or "failed".
    `quoted`: the schema's and the public schema's quoted names (Django's connection objects
    belong to the calling thread)."""
    schema, public = quoted
    tenants = f'{public}."{Tenant._meta.db_table}"'
    for attempt in range(REPLAY_LOCK_ATTEMPTS):
        try:
            with db.transaction():
                db.execute(f"SET LOCAL lock_timeout = '{REPLAY_LOCK_TIMEOUT}'")
                # Serialises with anything else migrating this schema (a concurrent run).
                db.execute(f"SELECT 1 FROM {tenants} WHERE schema_name = %s FOR NO KEY UPDATE", [schema_name])  # noqa: S608 - quoted names
                db.execute(f"SET LOCAL search_path = {schema}, {public}")
                rows = db.execute("SELECT app, name FROM django_migrations").fetchall()
                if {(app, name) for app, name in rows} & fingerprints.code_migrations() != expected:
                    logger.warning("tenant schema %s changed state meanwhile: not replayed", schema_name)
                    return "moved"
                for _, sql in batch:
                    if sql:
                        db.execute(sql.encode())  # as collected: no parameters, so no placeholders
                db.execute(
                    "INSERT INTO django_migrations (app, name, applied) "
                    "SELECT app, name, now() FROM unnest(%s::text[], %s::text[]) AS m(app, name)",
                    [[app for (app, _), _ in batch], [name for (_, name), _ in batch]],
                )
                db.execute(
                    f"UPDATE {tenants} SET migrations_fingerprint = %s WHERE schema_name = %s",  # noqa: S608 - quoted names
                    [new_fingerprint, schema_name],
                )
            return "done"
        except psycopg.errors.LockNotAvailable:
            logger.info("tenant schema %s busy (attempt %d): replay retried", schema_name, attempt + 1)
            time.sleep(0.5 * (attempt + 1))
        except psycopg.DatabaseError:
            logger.exception("replaying %s in tenant schema %s failed", [key for key, _ in batch], schema_name)
            return "failed"
    logger.warning("tenant schema %s stayed busy: left to the executor", schema_name)
    return "failed"
