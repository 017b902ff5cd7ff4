"""The rules Citus schema-based sharding needs (shared_apps/tenants/sharding.py), checked on
every model, every migration, the live catalog of a tenant schema and the SQL the API runs:
no foreign key from a tenant table to a public table other than the reference tables, and no
query that reaches a second tenant schema or a non-reference public table from a tenant one."""

import re

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, models
from django.db.migrations import operations
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext

from shared_apps.tenants.sharding import REFERENCE_MODELS

TENANT_APP_LABELS = frozenset(app.rsplit(".", 1)[-1] for app in settings.TENANT_APPS)


def tenant_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if model._meta.app_label in TENANT_APP_LABELS]


def public_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if model._meta.app_label not in TENANT_APP_LABELS]


def reference_tables() -> set[str]:
    return {apps.get_model(label)._meta.db_table for label in REFERENCE_MODELS}


def leaves_tenant(target_label: str) -> bool:
    """A relation target ("app.Model") outside the tenant apps and not a reference table."""
    app_label = target_label.split(".")[0].lower()
    return app_label not in TENANT_APP_LABELS and target_label.lower() not in {m.lower() for m in REFERENCE_MODELS}


def model_violations(models_to_check) -> list[str]:
    found = []
    for model in models_to_check:
        for field in model._meta.get_fields(include_hidden=False):
            related = field.related_model if field.is_relation and field.concrete else None
            if related is not None and leaves_tenant(related._meta.label):
                found.append(f"{model._meta.label}.{field.name} -> {field.related_model._meta.label}")
    return found


def _target_label(field: models.Field, app_label: str) -> str | None:
    remote = getattr(field, "remote_field", None)
    if remote is None:
        return None
    target = remote.model
    if isinstance(target, str):
        return target if "." in target else f"{app_label}.{target}"
    return target._meta.label


_NAMES_A_SCHEMA = re.compile(r"\bpublic\s*\.|\bt_[0-9a-f]{16}\b|search_path", re.IGNORECASE)
# Objects of the extensions installed in public (functions, dictionaries, operator classes, not
# tables): Citus creates extensions on every node, so naming them keeps a tenant schema whole.
_EXTENSION_OBJECT = re.compile(r"\bpublic\s*\.\s*(?:unaccent|gin_trgm_ops|gist_trgm_ops)\b", re.IGNORECASE)


def migration_violations(operations_by_app) -> list[str]:
    """Relations to public models, and SQL that names a schema, in tenant apps' migrations."""
    found = []
    for app_label, name, operation in operations_by_app:
        fields = []
        if isinstance(operation, operations.CreateModel):
            fields = [field for _, field in operation.fields]
        elif isinstance(operation, operations.AddField | operations.AlterField):
            fields = [operation.field]
        for field in fields:
            target = _target_label(field, app_label)
            if target and leaves_tenant(target):
                found.append(f"{app_label}.{name}: relation to {target}")
        if isinstance(operation, operations.RunSQL):
            sql = " ".join(str(part) for part in (operation.sql, operation.reverse_sql))
            if _NAMES_A_SCHEMA.search(_EXTENSION_OBJECT.sub("", sql)):
                found.append(f"{app_label}.{name}: SQL names a schema")
    return found


def tenant_migration_operations():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    for (app_label, name), migration in loader.disk_migrations.items():
        if app_label in TENANT_APP_LABELS:
            for operation in migration.operations:
                yield app_label, name, operation


_TABLE_REFERENCE = re.compile(r'\b(?:FROM|JOIN|UPDATE|INTO|REFERENCES)\s+((?:"?\w+"?\.)?"?\w+"?)', re.IGNORECASE)


def query_violations(sql_statements: list[str], *, active_schema: str) -> list[str]:
    """Statements that reach a schema other than the active tenant's (or public), or join a
    tenant table with a public table that is not a reference table."""
    tenant_tables = {model._meta.db_table for model in tenant_models()}
    public_tables = {model._meta.db_table for model in public_models()} - reference_tables()
    found = []
    for sql in sql_statements:
        schemas, tables = set(), set()
        for reference in _TABLE_REFERENCE.findall(sql):
            parts = [part.strip('"') for part in reference.split(".")]
            if len(parts) == 2:
                schemas.add(parts[0])
            tables.add(parts[-1])
        if schemas - {active_schema, "public", "pg_catalog", "information_schema"}:
            found.append(f"other schema {sorted(schemas)}: {sql[:200]}")
        elif tables & tenant_tables and tables & public_tables:
            found.append(f"tenant and public tables {sorted(tables)}: {sql[:200]}")
    return found


def test_no_tenant_model_references_a_public_table_but_the_reference_tables():
    assert tenant_models(), "no tenant models found"
    assert model_violations(tenant_models()) == []


def test_the_model_check_catches_a_foreign_key_to_a_public_table():
    class Leaky(models.Model):  # noqa: DJ008 - never saved or shown
        membership = models.ForeignKey("accounts.Membership", on_delete=models.CASCADE)
        staff = models.ForeignKey("accounts.User", on_delete=models.CASCADE)

        class Meta:
            app_label = "customers"

    try:
        assert model_violations([Leaky]) == ["customers.Leaky.membership -> accounts.Membership"]
    finally:
        apps.all_models["customers"].pop("leaky", None)
        apps.clear_cache()


def test_no_tenant_migration_adds_a_relation_to_a_public_table_or_names_a_schema():
    walked = list(tenant_migration_operations())

    assert len(walked) > 10
    assert migration_violations(walked) == []


def test_the_migration_check_catches_relations_and_schema_names():
    leaky = [
        (
            "quotes",
            "0099_leak",
            operations.AddField("quote", "owner", models.ForeignKey("tenants.Tenant", models.CASCADE)),
        ),
        ("quotes", "0099_leak", operations.RunSQL("SELECT * FROM public.accounts_membership")),
        (
            "quotes",
            "0099_fine",
            operations.AddField("quote", "staff", models.ForeignKey("accounts.User", models.CASCADE)),
        ),
    ]

    assert migration_violations(leaky) == [
        "quotes.0099_leak: relation to tenants.Tenant",
        "quotes.0099_leak: SQL names a schema",
    ]


@pytest.mark.django_db
def test_tenant_schema_catalog_has_no_foreign_key_leaving_it(tenant_a):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT src.relname, dst_ns.nspname, dst.relname
            FROM pg_constraint c
            JOIN pg_class src ON src.oid = c.conrelid
            JOIN pg_namespace src_ns ON src_ns.oid = src.relnamespace
            JOIN pg_class dst ON dst.oid = c.confrelid
            JOIN pg_namespace dst_ns ON dst_ns.oid = dst.relnamespace
            WHERE c.contype = 'f' AND src_ns.nspname = %s
            """,
            [tenant_a.tenant.schema_name],
        )
        foreign_keys = cursor.fetchall()

    assert foreign_keys, "a tenant schema has internal foreign keys"
    leaving = [
        row for row in foreign_keys if row[1] != tenant_a.tenant.schema_name and row[2] not in reference_tables()
    ]
    assert leaving == []


# What the API does for a tenant, each route's SQL captured.
API_CALLS = (
    ("GET", "/tenants/me", None),
    ("GET", "/users", None),
    ("POST", "/customers", {"name": "Ada", "phone": "(202) 555-0143"}),
    ("GET", "/customers", None),
    ("GET", "/appointments", None),
    ("GET", "/quotes", None),
    ("GET", "/invoices", None),
    ("GET", "/sms/messages", None),
    ("GET", "/sms/templates", None),
    ("GET", "/invitations", None),
    ("GET", "/tenants/me/domains", None),
)


def test_api_queries_stay_in_one_tenant_schema(tenant_a):
    client = tenant_a.api()
    with CaptureQueriesContext(connection) as captured:
        for method, path, body in API_CALLS:
            assert client.request(method, path, body).status_code < 300, path
    statements = [query["sql"] for query in captured.captured_queries]

    assert len(statements) > len(API_CALLS)
    assert query_violations(statements, active_schema=tenant_a.tenant.schema_name) == []


def test_the_query_check_catches_joins_across_schemas_and_into_public_tables():
    statements = [
        'SELECT * FROM "customers_customer" INNER JOIN "accounts_membership" ON true',
        'SELECT * FROM "t_0123456789abcdef"."customers_customer" '
        'JOIN "t_fedcba9876543210"."customers_customer" ON true',
        'SELECT * FROM "customers_customer" INNER JOIN "accounts_user" ON true',
    ]

    assert len(query_violations(statements, active_schema="t_0123456789abcdef")) == 2
