"""Which tenant schemas need migrating, in one query.

Each Tenant row keeps `migrations_fingerprint`: a hash of the migrations applied in its schema
that the code knows. A schema is up to date when it equals the hash of every migration in the
code (`code_fingerprint`), so "nothing to migrate" over any number of schemas is one SELECT
instead of django-tenants' full migrate in every schema. Whatever builds or migrates a schema
records its fingerprint: provisioning (pool and captured DDL) and `migrate_tenants_if_needed`.
"""

import hashlib
from collections.abc import Iterable
from functools import cache

from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import get_public_schema_name

from shared_apps.tenants.models import Tenant


def fingerprint(migrations: Iterable[tuple[str, str]]) -> str:
    """A stable hash of a set of (app, name) migrations."""
    text = "\n".join(f"{app}.{name}" for app, name in sorted(set(migrations)))
    return hashlib.sha256(text.encode()).hexdigest()


@cache
def code_migrations() -> frozenset[tuple[str, str]]:
    """Every migration in the code (tenant schemas record shared apps' migrations too)."""
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


@cache
def code_fingerprint() -> str:
    return fingerprint(code_migrations())


def stale_schema_names() -> list[str]:
    """Tenant schemas whose recorded fingerprint is not the code's (one query)."""
    return list(
        Tenant.objects.exclude(schema_name=get_public_schema_name())
        .exclude(migrations_fingerprint=code_fingerprint())
        .order_by("id")
        .values_list("schema_name", flat=True)
    )


def applied_fingerprint(*, schema_name: str) -> str:
    """The fingerprint of what is applied in the schema, read from its django_migrations.
    Rows of migrations the code no longer has are ignored, so it equals `code_fingerprint()`
    exactly when every migration in the code is applied."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {connection.ops.quote_name(schema_name)}.django_migrations")  # noqa: S608 - quoted name
        applied = {(app, name) for app, name in cursor.fetchall()}
    return fingerprint(applied & code_migrations())


def record_applied_fingerprints(*, schema_names: Iterable[str]) -> list[str]:
    """Store each schema's fingerprint as read from the schema itself (two queries a schema).
    Returns the schemas that are behind the code."""
    behind = []
    for schema_name in schema_names:
        value = applied_fingerprint(schema_name=schema_name)
        Tenant.objects.filter(schema_name=schema_name).update(migrations_fingerprint=value)
        if value != code_fingerprint():
            behind.append(schema_name)
    return behind
