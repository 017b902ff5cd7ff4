"""deploy/devservices.py: each checkout gets its own free ports and keeps them; a port someone
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

from deploy import devservices

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

    assert len({first.pg_port, first.redis_port, second.pg_port, second.redis_port}) == 4
    assert (first_again.pg_port, first_again.redis_port) == (first.pg_port, first.redis_port)
    assert json.loads(first.ports_file.read_text()) == {"postgres": first.pg_port, "redis": first.redis_port}


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
    result = run_in_checkout([REPO_ROOT / ".venv" / "bin" / "python", "-m", "deploy.devservices", "env"], tmp_path)

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
