"""Which tenant schemas need migrating, in one query.

Each Tenant row keeps `migrations_fingerprint`: a hash of the migrations applied in its schema
that the code knows. A schema is up to date when it equals the hash of every migration in the
code (`code_fingerprint`), so "nothing to migrate" over any number of schemas is one SELECT
instead of django-tenants' full migrate in every schema. Whatever builds or migrates a schema
records its fingerprint: provisioning (pool and captured DDL) and `migrate_tenants_if_needed`.
"""

import hashlib
from collections.abc import Iterable, Sequence
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


def applied_fingerprints(*, schema_names: Sequence[str]) -> dict[str, str]:
    """Each schema's fingerprint of what is applied, read from its django_migrations. Rows of
    migrations the code no longer has are ignored, so it equals `code_fingerprint()` exactly
    when every migration in the code is applied. PostgreSQL hashes the rows (`fingerprint`'s
    text: sorted by app and name, bytewise), a few hundred schemas a query."""
    found: dict[str, str] = {}
    code = [f"{app}.{name}" for app, name in code_migrations()]
    for start in range(0, len(schema_names), _SCHEMAS_PER_QUERY):
        chunk = schema_names[start : start + _SCHEMAS_PER_QUERY]
        per_schema = " UNION ALL ".join(
            f"SELECT %s, (SELECT {_APPLIED_TEXT} FROM {connection.ops.quote_name(schema_name)}.django_migrations "  # noqa: S608
            "WHERE app || '.' || name IN (SELECT key FROM code))"
            for schema_name in chunk
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "WITH code(key) AS (SELECT unnest(%s::text[])) "  # noqa: S608 - quoted names
                f"SELECT schema_name, encode(sha256(convert_to(text, 'UTF8')), 'hex') "
                f"FROM ({per_schema}) AS s(schema_name, text)",
                [code, *chunk],
            )
            found.update(cursor.fetchall())
    return found


# `fingerprint`'s text: each migration once, sorted by app then name as Python sorts strings.
_KEY = "(app || '.' || name) COLLATE \"C\""
_APPLIED_TEXT = f"coalesce(string_agg(DISTINCT {_KEY}, E'\\n' ORDER BY {_KEY}), '')"
# Each schema is one subquery of the statement: bounded, so one statement stays small.
_SCHEMAS_PER_QUERY = 200


def applied_fingerprint(*, schema_name: str) -> str:
    """One schema's `applied_fingerprints`."""
    return applied_fingerprints(schema_names=[schema_name])[schema_name]


def record_applied_fingerprints(*, schema_names: Iterable[str]) -> list[str]:
    """Store each schema's fingerprint as read from the schema itself (a query per few hundred
    schemas, and one update). Returns the schemas that are behind the code, in order."""
    names = list(schema_names)
    applied = applied_fingerprints(schema_names=names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Tenant._meta.db_table} AS t SET migrations_fingerprint = v.value "  # noqa: S608 - model's table
            "FROM unnest(%s::text[], %s::text[]) AS v(schema_name, value) "
            "WHERE t.schema_name = v.schema_name AND t.migrations_fingerprint IS DISTINCT FROM v.value",
            [list(applied), list(applied.values())],
        )
    return [name for name in names if applied[name] != code_fingerprint()]
