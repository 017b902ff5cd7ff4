"""export_tenant / import_tenant: a business moved into an empty database answers the API
exactly as before (same rows, same ids, same logins)."""

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.core.management import CommandError, call_command

from config.settings import BASE_DIR
from shared_apps.accounts.models import Membership
from tests.conftest import PASSWORD

# The GETs compared before and after the move.
PATHS = ("/tenants/me", "/customers", "/quotes", "/users", "/sms/templates")

# Run in the target database's own process: log in as the owner, then GET every path.
ANSWERS_SCRIPT = """
import json, sys, django
django.setup()
from django.test import Client
host, email, password, paths = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
client = Client(HTTP_HOST=host)
login = client.post("/api/v1/auth/login", {"email": email, "password": password}, content_type="application/json")
assert login.status_code == 200, login.content
token = login.json()["access_token"]
answers = {path: client.get("/api/v1" + path, HTTP_AUTHORIZATION="Bearer " + token).json() for path in paths}
print(json.dumps(answers))
"""


def answers(client) -> dict:
    return {path: client.get(path).json() for path in PATHS}


@pytest.fixture
def empty_database() -> str:
    """A new database with only the public schema migrated; dropped afterwards."""
    url = urlsplit(os.environ["DATABASE_URL"])
    name = f"{url.path.lstrip('/')}_import_{uuid.uuid4().hex[:8]}"
    admin_url = urlunsplit(url._replace(path="/postgres"))
    target_url = urlunsplit(url._replace(path=f"/{name}"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        manage(target_url, "migrate_schemas", "--shared", "-v", "0")
        yield target_url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def target_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DB_POOL": "false",
        "TENANT_POOL_SIZE": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_KEY_PREFIX": f"sd_import_{uuid.uuid4().hex[:8]}",
    }


def manage(database_url: str, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=target_env(database_url) | (extra_env or {}),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_round_trip_into_an_empty_database_gives_the_same_answers(committed_tenant, empty_database, tmp_path):
    owner = committed_tenant.api()
    customer = owner.post("/customers", {"name": "Ada Lovelace", "phone": "(202) 555-0143"}).json()
    item = {"description": "Fit a tap", "quantity": "1.5", "unit_price": 4000, "tax_rate": "8.25"}
    assert owner.post("/quotes", {"customer_id": customer["id"], "items": [item]}).status_code == 201
    assert owner.patch("/tenants/me", {"sms_sender": "+12025550188", "name": "Moved Co"}).status_code == 200
    # Under a millisecond: the API writes it as ".000" and 0 microseconds without a fraction, so
    # an export that cut it would answer otherwise after the import.
    Membership.objects.filter(tenant=committed_tenant.tenant).update(created_at=datetime(2026, 3, 4, 5, 6, 7, 412, UTC))
    before = answers(owner)
    archive = tmp_path / "tenant.tar.gz"

    call_command("export_tenant", committed_tenant.slug, str(archive))
    imported = manage(empty_database, "import_tenant", str(archive))
    after = subprocess.run(
        [sys.executable, "-c", ANSWERS_SCRIPT, committed_tenant.host, committed_tenant.owner.email, PASSWORD, *PATHS],
        cwd=BASE_DIR,
        env=target_env(empty_database),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert f"Imported tenant {committed_tenant.slug}" in imported.stdout
    assert after.returncode == 0, after.stderr[-3000:]
    assert json.loads(after.stdout.strip().splitlines()[-1]) == before
    assert before["/customers"]["count"] == 1
    with psycopg.connect(empty_database) as connection:
        routes = connection.execute("SELECT provider, external_id FROM webhooks_providerroute").fetchall()
        members = connection.execute("SELECT count(*) FROM accounts_membership").fetchone()
        trail = connection.execute("SELECT action, tenant_id FROM audit_auditevent ORDER BY id").fetchall()
        imported_id = connection.execute("SELECT id FROM tenants_tenant WHERE slug = %s", [committed_tenant.slug])
        tenant_id = imported_id.fetchone()[0]
    assert routes == [("twilio", "+12025550188")]
    assert members == (2,)
    # The business's audit trail came along, under its id here, and the import is recorded.
    actions = [action for action, owner in trail if owner == tenant_id]
    assert actions[:4] == ["tenant.created", "invitation.sent", "invitation.accepted", "tenant.settings_changed"]
    assert "tenant.imported" in actions


def test_import_refuses_a_tenant_that_exists_here(committed_tenant, unblocked_db, tmp_path):
    archive = tmp_path / "tenant.tar.gz"
    call_command("export_tenant", committed_tenant.slug, str(archive))

    with pytest.raises(CommandError, match="exists here"):
        call_command("import_tenant", str(archive))


def test_export_of_an_unknown_slug_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="No tenant"):
        call_command("export_tenant", "nobody-here", str(Path(tmp_path) / "x.tar.gz"))


def _major(program_path: str) -> int:
    output = subprocess.run([program_path, "--version"], capture_output=True, text=True, check=True).stdout
    return int(output.split(") ")[1].split(".")[0])


@pytest.mark.django_db
def test_client_tools_match_the_servers_major_version():
    from django.db import connection

    from shared_apps.accounts import portability

    connection.ensure_connection()
    server_major = connection.connection.info.server_version // 10000
    for program in ("pg_dump", "psql"):
        assert _major(portability.client_program(program, server_major=server_major)) == server_major
    # The embedded server `make test` starts on a fresh clone (18) gets the wheel's own pg_dump,
    # whatever version PATH holds.
    from devtools.devservices import _pg_bin

    embedded_major = _major(str(_pg_bin("pg_dump")))
    assert _major(portability.client_program("pg_dump", server_major=embedded_major)) == embedded_major


def test_missing_client_tools_are_named_clearly():
    from django.core.exceptions import ImproperlyConfigured

    from shared_apps.accounts import portability

    with pytest.raises(ImproperlyConfigured, match=r"pg_dump of PostgreSQL 9 .* Install the PostgreSQL 9 client"):
        portability.client_program("pg_dump", server_major=9)


# In the target's own process: the attachment's bytes, fetched through its download URL.
DOWNLOAD_SCRIPT = """
import hashlib, sys, django, httpx
django.setup()
from django.test import Client
host, email, password, attachment = sys.argv[1:5]
client = Client(HTTP_HOST=host)
login = client.post("/api/v1/auth/login", {"email": email, "password": password}, content_type="application/json")
token = login.json()["access_token"]
links = client.get(f"/api/v1/attachments/{attachment}/download", HTTP_AUTHORIZATION="Bearer " + token).json()
logo = client.get("/api/v1/tenants/me/logo", HTTP_AUTHORIZATION="Bearer " + token)
assert logo.status_code == 200, logo.content
print(hashlib.sha256(httpx.get(links["url"], timeout=30).content).hexdigest(), hashlib.sha256(logo.content).hexdigest())
"""


def test_files_and_logo_move_with_the_business_into_another_storage(committed_tenant, empty_database, tmp_path):
    import hashlib

    import httpx

    from tests.tenant_apps.files.helpers import jpeg_with_gps, post_upload

    owner = committed_tenant.api()
    customer = owner.post("/customers", {"name": "Ada Lovelace"}).json()["id"]
    photo = jpeg_with_gps()
    started = owner.post(
        f"/customers/{customer}/attachments", {"filename": "a.jpg", "content_type": "image/jpeg", "size": len(photo)}
    ).json()
    post_upload(started["upload"], photo)
    attachment = owner.post(f"/attachments/{started['attachment']['id']}/complete").json()["id"]
    kept = httpx.get(owner.get(f"/attachments/{attachment}/download").json()["url"]).content
    logo = jpeg_with_gps(size=(30, 20))
    assert owner.put("/tenants/me/logo", logo).status_code == 200
    archive = tmp_path / "tenant.tar.gz"
    # Another deployment's storage: the same server, another namespace of keys.
    elsewhere = {"S3_KEY_PREFIX": f"elsewhere-{uuid.uuid4().hex[:8]}"}

    call_command("export_tenant", committed_tenant.slug, str(archive))
    manage(empty_database, "import_tenant", str(archive), extra_env=elsewhere)
    fetched = subprocess.run(
        [
            *(sys.executable, "-c", DOWNLOAD_SCRIPT),
            *(committed_tenant.host, committed_tenant.owner.email, PASSWORD, str(attachment)),
        ],
        cwd=BASE_DIR,
        env=target_env(empty_database) | elsewhere,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert fetched.returncode == 0, fetched.stderr[-3000:]
    assert fetched.stdout.strip().splitlines()[-1].split() == [
        hashlib.sha256(kept).hexdigest(),
        hashlib.sha256(logo).hexdigest(),
    ]
