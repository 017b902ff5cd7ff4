"""Migration fingerprints: new schemas record the code's, and `migrate_tenants_if_needed`
migrates exactly the schemas whose schema is behind, leaving the others untouched."""

import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from shared_apps.tenants import fingerprints, provisioning, replay, services
from shared_apps.tenants.models import Tenant

INDEX_MIGRATION = ("customers", "0002_search_indexes")


def migration_rows(schema_name: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema_name}".django_migrations')  # noqa: S608
        return {(app, name) for app, name in cursor.fetchall()}


def has_index(schema_name: str, index: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = %s", [schema_name, index])
        return cursor.fetchone() is not None


def recorded(tenant: Tenant) -> str:
    return Tenant.objects.get(pk=tenant.pk).migrations_fingerprint


@pytest.fixture
def pooled(unblocked_db):
    made: list[Tenant] = []

    def make(**kwargs) -> Tenant:
        tenant = provisioning.create_pooled_tenant(**kwargs)
        made.append(tenant)
        return tenant

    yield make
    for tenant in made:
        services.delete_tenant(tenant_id=tenant.pk)


def test_the_code_fingerprint_covers_every_tenant_migration():
    assert INDEX_MIGRATION in fingerprints.code_migrations()
    assert fingerprints.code_fingerprint() == fingerprints.fingerprint(fingerprints.code_migrations())
    assert fingerprints.fingerprint([("a", "1"), ("b", "2")]) == fingerprints.fingerprint([("b", "2"), ("a", "1")])
    assert fingerprints.fingerprint([("a", "1")]) != fingerprints.fingerprint([("a", "1"), ("b", "2")])


@pytest.mark.parametrize("cold_path", ["ddl", "migrate"])
def test_new_schemas_record_the_fingerprint_of_what_they_hold(pooled, cold_path):
    tenant = pooled(cold_path=cold_path)

    assert recorded(tenant) == fingerprints.code_fingerprint()
    assert fingerprints.applied_fingerprint(schema_name=tenant.schema_name) == fingerprints.code_fingerprint()


def test_a_schema_built_in_the_request_records_its_fingerprint(unblocked_db, settings):
    settings.TENANT_POOL_SIZE = 0
    with transaction.atomic():
        tenant = services.create_tenant(slug="fingerprint-cold", name="Cold")
    try:
        assert recorded(tenant) == fingerprints.code_fingerprint()
    finally:
        services.delete_tenant(tenant_id=tenant.pk)


def test_only_the_schemas_behind_the_code_are_migrated_by_replaying_sql(pooled):
    behind, behind_too, current = pooled(), pooled(), pooled()
    # `behind` and `behind_too` really lack the migration: unapplied in their schemas, as older
    # code left them.
    for tenant in (behind, behind_too):
        call_command("migrate_schemas", "customers", "0001_initial", schema_name=tenant.schema_name, verbosity=0)
        assert not has_index(tenant.schema_name, "customer_name_trgm")
    stale = [behind.schema_name, behind_too.schema_name]
    assert fingerprints.record_applied_fingerprints(schema_names=stale) == stale
    # `current` is recorded as up to date: the command must not even look inside it, which its
    # missing row (kept missing) shows.
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{current.schema_name}".django_migrations WHERE app = %s AND name = %s',  # noqa: S608
            list(INDEX_MIGRATION),
        )
    output = io.StringIO()

    assert fingerprints.stale_schema_names() == stale
    call_command("migrate_tenants_if_needed", executor="standard", verbosity=1, stdout=output)

    # The migration's SQL, collected in the first schema, was replayed in the second.
    assert "customers.0002_search_indexes: replayed (2 schemas)" in output.getvalue()
    for tenant in (behind, behind_too):
        assert has_index(tenant.schema_name, "customer_name_trgm")
        assert INDEX_MIGRATION in migration_rows(tenant.schema_name)
        assert recorded(tenant) == fingerprints.code_fingerprint()
    assert INDEX_MIGRATION not in migration_rows(current.schema_name)
    assert recorded(current) == fingerprints.code_fingerprint()
    assert fingerprints.stale_schema_names() == []


def test_a_migration_that_cannot_be_replayed_goes_through_the_executor(pooled, monkeypatch):
    behind = pooled()
    call_command("migrate_schemas", "customers", "0001_initial", schema_name=behind.schema_name, verbosity=0)
    fingerprints.record_applied_fingerprints(schema_names=[behind.schema_name])
    judge = replay.non_replayable_reason
    monkeypatch.setattr(
        replay,
        "non_replayable_reason",
        lambda migration: "runs Python"
        if (migration.app_label, migration.name) == INDEX_MIGRATION
        else judge(migration),
    )
    output = io.StringIO()

    call_command("migrate_tenants_if_needed", executor="standard", verbosity=1, stdout=output)

    assert "customers.0002_search_indexes: executor: runs Python (1 schemas)" in output.getvalue()
    assert "search.0001_search_documents: replayed (1 schemas)" in output.getvalue()
    assert has_index(behind.schema_name, "customer_name_trgm")
    assert INDEX_MIGRATION in migration_rows(behind.schema_name)
    assert recorded(behind) == fingerprints.code_fingerprint()


def test_a_stale_record_of_a_current_schema_is_corrected_without_migrating(pooled):
    tenant = pooled()
    Tenant.objects.filter(pk=tenant.pk).update(migrations_fingerprint="")
    rows_before = migration_rows(tenant.schema_name)

    call_command("migrate_tenants_if_needed", executor="standard", verbosity=0)

    assert recorded(tenant) == fingerprints.code_fingerprint()
    assert migration_rows(tenant.schema_name) == rows_before


def test_the_pool_never_hands_out_a_schema_behind_the_code(pooled, settings):
    settings.TENANT_POOL_SIZE = 1
    old = pooled()
    Tenant.objects.filter(pk=old.pk).update(migrations_fingerprint="made-by-older-code")

    with transaction.atomic():
        assert provisioning.claim_pooled_tenant() is None
    assert provisioning.refill_tenant_pool() == 1
    with transaction.atomic():
        claimed = provisioning.claim_pooled_tenant()
    assert claimed is not None and claimed.pk != old.pk
    services.delete_tenant(tenant_id=claimed.pk)
