"""devtools/devservices.py: each checkout gets its own free ports and keeps them; a port someone
else holds is skipped; a server that cannot start stops `make` with the reason."""

import json
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools import devservices

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port in devservices' range that another process (this test) listens on."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        port = devservices.free_port(preferred=devservices.PORT_RANGE.start + 7000)
        sock.bind((devservices.HOST, port))
        sock.listen()
        yield port


def test_two_checkouts_get_different_ports_and_keep_them(tmp_path):
    first = devservices.load_layout(tmp_path / "checkout-a" / ".local")
    second = devservices.load_layout(tmp_path / "checkout-b" / ".local")
    first_again = devservices.load_layout(tmp_path / "checkout-a" / ".local")

    ports = [
        port
        for layout in (first, second)
        for port in (layout.pg_port, layout.redis_port, *layout.sandbox_ports.values(), layout.s3_port)
    ]
    assert len(ports) == len(set(ports)) == 12
    assert first_again == first
    assert json.loads(first.ports_file.read_text()) == {
        "postgres": first.pg_port,
        "redis": first.redis_port,
        "twilio_sandbox": first.sandbox_ports["twilio_sandbox"],
        "vapi_sandbox": first.sandbox_ports["vapi_sandbox"],
        "stripe_sandbox": first.sandbox_ports["stripe_sandbox"],
        "s3": first.s3_port,
    }


def test_a_checkout_from_before_sandbox_ports_gets_them_and_keeps_its_servers(tmp_path):
    (tmp_path / "ports.json").write_text(json.dumps({"postgres": 21001, "redis": 21002}))

    layout = devservices.load_layout(tmp_path)

    assert (layout.pg_port, layout.redis_port) == (21001, 21002)
    assert set(layout.sandbox_ports) == {"twilio_sandbox", "vapi_sandbox", "stripe_sandbox"}
    assert devservices.load_layout(tmp_path) == layout


def _env_without_services(tmp_path: Path) -> dict[str, str]:
    names = {"DATABASE_URL", "REDIS_URL", "TWILIO_SANDBOX_URL", "VAPI_SANDBOX_URL", "STRIPE_SANDBOX_URL"}
    names |= set(devservices.S3_VARIABLES)
    env = {name: value for name, value in os.environ.items() if name not in names and name != "DJANGO_SETTINGS_MODULE"}
    return {**env, "DEVSERVICES_DIR": str(tmp_path)}


def test_env_exports_and_prints_the_checkouts_sandbox_urls(tmp_path):
    env = {
        **_env_without_services(tmp_path),
        "DATABASE_URL": "postgres://x@127.0.0.1:1/db",
        "REDIS_URL": "redis://r",
        "S3_ENDPOINT_URL": "http://s3.example.test",
    }
    result = subprocess.run(
        [REPO_ROOT / ".venv" / "bin" / "python", "-m", "devtools.devservices", "env"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    layout = devservices.load_layout(tmp_path)
    for variable, url in layout.sandbox_urls.items():
        assert f"export {variable}={url}" in result.stdout.splitlines()
        assert f"{variable}={url}" in result.stderr  # printed at start
    assert len(layout.sandbox_urls) == 3


def test_manage_py_in_a_checkout_finds_its_embedded_servers_and_sandboxes(tmp_path):
    layout = devservices.load_layout(tmp_path)
    script = (
        "from django.conf import settings as s; "
        "print(s.DATABASE_URL, s.REDIS_URL, s.TWILIO_SANDBOX_URL, s.VAPI_SANDBOX_URL, s.STRIPE_SANDBOX_URL)"
    )
    result = subprocess.run(
        [REPO_ROOT / ".venv" / "bin" / "python", "manage.py", "shell", "-v", "0", "-c", script],
        cwd=REPO_ROOT,
        env=_env_without_services(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    expected = [layout.database_url, layout.redis_url, *layout.sandbox_urls.values()]
    assert result.stdout.split() == expected


def test_a_taken_port_is_skipped(listening_port):
    assert devservices.free_port(preferred=listening_port) != listening_port


def test_a_remembered_port_taken_meanwhile_is_replaced(tmp_path, listening_port):
    layout = devservices.load_layout(tmp_path / ".local")
    layout.redis_port = listening_port
    layout.save_ports()

    url = devservices.ensure_redis(devservices.load_layout(tmp_path / ".local"))
    try:
        remembered = devservices.load_layout(tmp_path / ".local")
    finally:
        devservices.stop_redis(remembered)

    assert remembered.redis_port != listening_port
    assert url == f"redis://127.0.0.1:{remembered.redis_port}/0"


def broken_checkout(tmp_path: Path) -> dict[str, str]:
    """An environment whose embedded PostgreSQL cannot start: its data directory is not one."""
    data = tmp_path / ".local" / "postgres" / "data"
    data.mkdir(parents=True)
    (data / "notes.txt").write_text("not a cluster")
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    return {**env, "DEVSERVICES_DIR": str(tmp_path / ".local")}


def run_in_checkout(argv: list, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, cwd=REPO_ROOT, env=broken_checkout(tmp_path), capture_output=True, text=True, timeout=300, check=False
    )


def test_a_server_that_cannot_start_is_a_clear_error(tmp_path):
    result = run_in_checkout([REPO_ROOT / ".venv" / "bin" / "python", "-m", "devtools.devservices", "env"], tmp_path)

    assert result.returncode == 1
    assert result.stdout == ""
    assert "devservices: error:" in result.stderr
    assert "is not a PostgreSQL data directory" in result.stderr


def test_make_test_stops_when_the_services_cannot_start(tmp_path):
    make = shutil.which("make") or "make"
    result = run_in_checkout([make, "--silent", "--no-print-directory", "test", "PYTEST_ARGS=--version"], tmp_path)

    assert result.returncode != 0
    assert "is not a PostgreSQL data directory" in result.stderr
    assert not re.search(r"pytest \d", result.stdout + result.stderr)  # pytest never ran


def _devservices(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [REPO_ROOT / ".venv" / "bin" / "python", "-m", "devtools.devservices", command],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


def test_env_starts_an_s3_server_that_refuses_what_s3_refuses_and_stop_stops_it(tmp_path):
    import boto3
    import httpx
    from botocore.config import Config

    env = {**_env_without_services(tmp_path), "DATABASE_URL": "postgres://x@127.0.0.1:1/db", "REDIS_URL": "redis://r"}
    started = _devservices("env", env)
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines() if line.startswith("export ")
    )
    try:
        s3 = boto3.client(
            "s3",
            endpoint_url=exports["S3_ENDPOINT_URL"],
            aws_access_key_id=exports["S3_ACCESS_KEY_ID"],
            aws_secret_access_key=exports["S3_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
            config=Config(signature_version="s3v4"),  # the server checks SigV4 upload policies
        )
        s3.put_object(Bucket=exports["S3_BUCKET"], Key="a/b", Body=b"kept")
        kept = s3.get_object(Bucket=exports["S3_BUCKET"], Key="a/b")["Body"].read()
        unsigned = httpx.get(f"{exports['S3_ENDPOINT_URL']}/{exports['S3_BUCKET']}/a/b")
        form = s3.generate_presigned_post(
            exports["S3_BUCKET"], "a/c", Conditions=[["content-length-range", 1, 10]], ExpiresIn=60
        )
        too_large = httpx.post(form["url"], data=form["fields"], files={"file": ("c", b"x" * 11)})
        forged = httpx.post(
            form["url"], data={**form["fields"], "x-amz-signature": "0" * 64}, files={"file": ("c", b"x")}
        )
        again = _devservices("env", env)
    finally:
        _devservices("stop", env)

    port = int(exports["S3_ENDPOINT_URL"].rsplit(":", 1)[1])
    assert "started the S3 server" in started.stderr
    assert kept == b"kept"
    assert unsigned.status_code == 403
    assert (too_large.status_code, "EntityTooLarge" in too_large.text) == (400, True)
    assert (forged.status_code, "SignatureDoesNotMatch" in forged.text) == (403, True)
    assert "started the S3 server" not in again.stderr  # the running one is reused
    assert f"export S3_ENDPOINT_URL={exports['S3_ENDPOINT_URL']}" in again.stdout
    assert not devservices._port_in_use(port)
