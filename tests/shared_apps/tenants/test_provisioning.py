import pytest
from django.db import IntegrityError, connection
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import schema_context, schema_exists

from shared_apps.accounts import services as accounts
from shared_apps.accounts.models import Membership, User
from shared_apps.errors import Conflict, violated_constraint
from shared_apps.tenants import provisioning, services
from shared_apps.tenants.models import Domain, Tenant
from tenant_apps.customers.models import Customer
from tests.concurrency import run_at_once
from tests.conftest import PASSWORD


def tenant_schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'")
        return {row[0] for row in cursor.fetchall()}


def schema_shape(schema_name: str) -> dict[str, list]:
    """Columns, constraints and indexes of a schema, with its name taken out."""
    queries = {
        "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = %s",
        "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = %s",
        "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s",
        "migrations": "SELECT 1",
    }
    shape = {}
    with connection.cursor() as cursor:
        for name, sql in queries.items():
            if name == "migrations":
                cursor.execute(f'SELECT app, name FROM "{schema_name}".django_migrations')  # noqa: S608
            else:
                cursor.execute(sql, [schema_name])
            rows = [tuple(str(value).replace(schema_name, "<schema>") for value in row) for row in cursor.fetchall()]
            shape[name] = sorted(rows)
    return shape


@pytest.fixture
def two_cold_schemas(unblocked_db):
    by_ddl = provisioning.create_pooled_tenant(cold_path="ddl")
    by_migrations = provisioning.create_pooled_tenant(cold_path="migrate")
    yield by_ddl, by_migrations
    for tenant in (by_ddl, by_migrations):
        services.delete_tenant(tenant_id=tenant.pk)


def test_captured_ddl_builds_the_same_schema_as_migrations(two_cold_schemas):
    by_ddl, by_migrations = two_cold_schemas

    assert schema_shape(by_ddl.schema_name) == schema_shape(by_migrations.schema_name)
    assert schema_shape(by_ddl.schema_name)["columns"]


def test_schema_built_from_ddl_needs_no_migration(two_cold_schemas):
    by_ddl, _ = two_cold_schemas

    with schema_context(by_ddl.schema_name):
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())

    assert plan == []


def test_registration_claims_a_pooled_schema(unblocked_db):
    pooled = provisioning.create_pooled_tenant()

    tokens = accounts.register_business(business_name="Pool Co", email="pool@pool.test", password=PASSWORD)

    try:
        assert tokens.tenant.pk == pooled.pk
        assert Tenant.objects.get(pk=pooled.pk).status == Tenant.Status.ACTIVE
    finally:
        services.delete_tenant(tenant_id=tokens.tenant.pk)
        User.objects.filter(email="pool@pool.test").delete()


@pytest.mark.parametrize("pool_size", [0, 1])
def test_failed_registration_leaves_nothing(unblocked_db, monkeypatch, pool_size):
    provisioning.refill_tenant_pool(size=pool_size)
    schemas_before = tenant_schemas()
    pooled_before = set(Tenant.objects.filter(status=Tenant.Status.POOLED).values_list("pk", flat=True))

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Membership.objects, "create", fail)

    with pytest.raises(RuntimeError):
        accounts.register_business(business_name="Half Made", email="half@made.test", password=PASSWORD)

    assert tenant_schemas() == schemas_before
    assert not Tenant.objects.filter(slug="half-made").exists()
    assert not Domain.objects.filter(domain__startswith="half-made.").exists()
    assert not User.objects.filter(email="half@made.test").exists()
    assert set(Tenant.objects.filter(status=Tenant.Status.POOLED).values_list("pk", flat=True)) == pooled_before
    for tenant in Tenant.objects.filter(pk__in=pooled_before):
        services.delete_tenant(tenant_id=tenant.pk)


def test_the_constraints_a_taken_email_or_slug_violates_exist(db):
    names = [accounts.USER_EMAIL_CONSTRAINT, *services.SLUG_CONSTRAINTS]

    with connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE conname = ANY(%s)", [names])
        found = {row[0] for row in cursor.fetchall()}

    assert found == set(names)


def test_registration_reraises_a_violation_that_is_not_a_taken_email_or_slug(unblocked_db, monkeypatch):
    create_membership = Membership.objects.create

    def create_twice(**fields):
        create_membership(**fields)
        return create_membership(**fields)

    monkeypatch.setattr(Membership.objects, "create", create_twice)

    with pytest.raises(IntegrityError) as raised:
        accounts.register_business(business_name="Twice Co", email="twice@twice.test", password=PASSWORD)

    assert violated_constraint(raised.value) == "accounts_membership_unique"
    assert not Tenant.objects.filter(slug="twice-co").exists()
    assert not User.objects.filter(email="twice@twice.test").exists()


@pytest.mark.parametrize("collide_on", ["slug", "email"])
def test_concurrent_registrations_one_wins_one_conflicts(unblocked_db, collide_on):
    def register(index: int) -> accounts.IssuedTokens:
        email = "race@race.test" if collide_on == "email" else f"race{index}@race.test"
        slug = "race-co" if collide_on == "slug" else f"race-co-{index}"
        return accounts.register_business(business_name="Race", email=email, password=PASSWORD, slug=slug)

    outcomes = run_at_once([lambda: register(0), lambda: register(1)], expected=Conflict)

    winners = [outcome for outcome in outcomes if not isinstance(outcome, Conflict)]
    try:
        assert len(winners) == 1
        assert [outcome.code for outcome in outcomes if isinstance(outcome, Conflict)] == [f"{collide_on}_taken"]
        assert Tenant.objects.filter(slug__startswith="race-co").count() == 1
    finally:
        for winner in winners:
            services.delete_tenant(tenant_id=winner.tenant.pk)
        User.objects.filter(email__endswith="@race.test").delete()


def test_rows_written_in_one_schema_are_absent_from_the_other(tenant_a, tenant_b):
    with tenant_a.schema():
        Customer.objects.create(name="Only In Alpha")

    with connection.cursor() as cursor:
        counts = {}
        for test_tenant in (tenant_a, tenant_b):
            cursor.execute(
                f'SELECT count(*) FROM "{test_tenant.tenant.schema_name}".customers_customer WHERE name = %s',  # noqa: S608
                ["Only In Alpha"],
            )
            counts[test_tenant.slug] = cursor.fetchone()[0]
    with tenant_b.schema():
        visible_in_b = Customer.objects.filter(name="Only In Alpha").exists()

    assert counts == {"alpha": 1, "bravo": 0}
    assert not visible_in_b


def test_delete_tenant_drops_schema_and_rows(unblocked_db):
    tokens = accounts.register_business(business_name="Gone Soon", email="gone@soon.test", password=PASSWORD)
    schema_name = tokens.tenant.schema_name

    services.delete_tenant(tenant_id=tokens.tenant.pk)

    assert not schema_exists(schema_name)
    assert not Domain.objects.filter(tenant_id=tokens.tenant.pk).exists()
    assert not Membership.objects.filter(tenant_id=tokens.tenant.pk).exists()
    User.objects.filter(email="gone@soon.test").delete()
