"""Making tenant schemas fast.

Registration claims a ready, fully migrated schema from a small pool (`claim_pooled_tenant`),
so the user waits only for a few row writes. When the pool is empty, a schema is built by
replaying the DDL that the tenant apps' migrations emit, captured once per process
(`create_schema_from_captured_ddl`): one round trip, flat however many tenants exist, instead
of django-tenants' replay of every migration. Both run inside the caller's transaction, since
PostgreSQL DDL is transactional: a failure leaves no schema behind.
"""

import secrets
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import get_public_schema_name, schema_context

from shared_apps.tenants.fingerprints import code_fingerprint
from shared_apps.tenants.models import Tenant
from shared_apps.tenants.replay import runs_python_in_tenant_schema


def new_schema_name() -> str:
    """An opaque schema name, never derived from the slug (slugs change; schemas don't)."""
    return f"t_{secrets.token_hex(8)}"


@dataclass(frozen=True)
class TenantSchemaDDL:
    """Everything needed to build a tenant schema without running migrations."""

    statements: str
    applied_migrations: tuple[tuple[str, str], ...]


@cache
def captured_tenant_ddl() -> TenantSchemaDDL | None:
    """Collect, once per process, the SQL that migrating an empty tenant schema would run.
    Returns None when a migration that runs in tenant schemas cannot be written as SQL (a
    RunPython data migration in a tenant app), in which case schemas are built by migrating."""
    with schema_context("t_ddl_capture"):
        executor = MigrationExecutor(connection)
        targets = executor.loader.graph.leaf_nodes()
        plan = executor.migration_plan(targets, clean_start=True)
        if any(runs_python_in_tenant_schema(migration) for migration, _ in plan):
            return None
        statements = executor.loader.collect_sql(plan)  # type: ignore[attr-defined]  # missing from django-stubs
    applied = tuple(sorted(executor.loader.graph.nodes))
    return TenantSchemaDDL(statements="\n".join(statements), applied_migrations=applied)


def _quoted(schema_name: str) -> str:
    return connection.ops.quote_name(schema_name)


def create_schema_from_captured_ddl(*, schema_name: str) -> None:
    """Create and fill `schema_name` inside the current transaction, falling back to real
    migrations when the DDL cannot be captured."""
    ddl = captured_tenant_ddl()
    if ddl is None:
        _create_schema_by_migrating(schema_name=schema_name)
        return
    public = _quoted(get_public_schema_name())
    schema = _quoted(schema_name)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE SCHEMA {schema};"
            f"SET LOCAL search_path = {schema}, {public};"
            f"CREATE TABLE {schema}.django_migrations (LIKE {public}.django_migrations INCLUDING ALL);"
            f"{ddl.statements}"
        )
        cursor.execute(
            f"INSERT INTO {schema}.django_migrations (app, name, applied) "  # noqa: S608 - quoted name
            "SELECT app, name, now() FROM unnest(%s::text[], %s::text[]) AS m(app, name)",
            [[app for app, _ in ddl.applied_migrations], [name for _, name in ddl.applied_migrations]],
        )
        cursor.execute(f"SET LOCAL search_path = {public}")
    # The SETs above bypassed django-tenants' bookkeeping: make it issue its own next time.
    connection.search_path_set_schemas = None  # type: ignore[attr-defined]  # django-tenants' database backend


def _create_schema_by_migrating(*, schema_name: str) -> None:
    """django-tenants' own path: create the schema and replay every migration (slow)."""
    Tenant(schema_name=schema_name).create_schema(check_if_exists=False, sync_schema=True, verbosity=0)
    connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' database backend


def create_pooled_tenant(*, cold_path: str = "ddl") -> Tenant:
    """Build one ready schema and its unclaimed Tenant row, all or nothing.
    `cold_path="migrate"` uses django-tenants' replay of migrations (benchmarks compare)."""
    schema_name = new_schema_name()
    with transaction.atomic():
        if cold_path == "migrate":
            _create_schema_by_migrating(schema_name=schema_name)
        else:
            create_schema_from_captured_ddl(schema_name=schema_name)
        return _pooled_tenant_row(schema_name=schema_name)


def _pooled_tenant_row(*, schema_name: str) -> Tenant:
    """The row of a schema just built by this code: every migration the code has is applied."""
    return Tenant.objects.create(
        schema_name=schema_name, status=Tenant.Status.POOLED, migrations_fingerprint=code_fingerprint()
    )


def claim_pooled_tenant() -> Tenant | None:
    """Lock one pooled tenant for the caller's transaction (other claimers skip it). Only a
    schema migrated as far as this code is handed out: one built by older code during a deploy
    waits for `migrate_tenants_if_needed`."""
    return (
        Tenant.objects.select_for_update(skip_locked=True)
        .filter(status=Tenant.Status.POOLED, migrations_fingerprint=code_fingerprint())
        .order_by("id")
        .first()
    )


def claim_or_create_tenant_schema() -> Tenant:
    """A tenant row with a ready schema, locked in the caller's transaction: from the pool if
    one is free, else built now. The caller fills in its identity."""
    tenant = claim_pooled_tenant()
    if tenant is not None:
        return tenant
    schema_name = new_schema_name()
    create_schema_from_captured_ddl(schema_name=schema_name)
    return _pooled_tenant_row(schema_name=schema_name)


def refill_tenant_pool(*, size: int | None = None) -> int:
    """Top the pool up to `size` ready schemas (TENANT_POOL_SIZE). Returns how many were made."""
    target = settings.TENANT_POOL_SIZE if size is None else size
    ready = Tenant.objects.filter(status=Tenant.Status.POOLED, migrations_fingerprint=code_fingerprint())
    missing = target - ready.count()
    for _ in range(max(missing, 0)):
        create_pooled_tenant()
    return max(missing, 0)


def drop_tenant_schema(*, schema_name: str) -> None:
    """Drop a tenant schema and everything in it (caller's transaction)."""
    if schema_name == get_public_schema_name():
        raise ValueError("Refusing to drop the public schema.")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {_quoted(schema_name)} CASCADE")
