"""PgBouncer (Debian's `pgbouncer` package) in front of PostgreSQL, for `make prod`, the scale
bench and the tests: its configuration for a DATABASE_URL, and the URL the processes use
instead, through it. Session pooling, with the processes connecting per request (no pool of
their own): deploy/SCALING.md says why not transaction pooling.

    python -m devtools.pgbouncer .local/pgbouncer/pgbouncer.ini   # runs it in the foreground
"""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg

# Server connections per database and user: what PostgreSQL sees, however many clients wait.
DEFAULT_POOL_SIZE = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(path, os.X_OK)), None
    )


def write_config(
    directory: Path, *, database_url: str, port: int, pool_size: int = DEFAULT_POOL_SIZE, stats_period: int = 60
) -> Path:
    """pgbouncer.ini and its user list in `directory`, for the server of `database_url`;
    SHOW STATS totals move every `stats_period` seconds."""
    url = urlsplit(database_url)
    user = unquote(url.username or "postgres")
    password = unquote(url.password or "")
    directory.mkdir(parents=True, exist_ok=True)
    users = directory / "users.txt"
    users.write_text(f'"{user}" "{password}"\n', encoding="utf-8")
    config = directory / "pgbouncer.ini"
    config.write_text(
        f"""[databases]
* = host={url.hostname or "127.0.0.1"} port={url.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
; The server authenticates; PgBouncer forwards the user list's password to it.
auth_type = trust
auth_file = {users}
admin_users = {user}
; A client keeps its server connection until it disconnects, which the processes do after
; each request (DB_POOL=false): tenancy's per-connection search path stays safe.
pool_mode = session
server_reset_query = DISCARD ALL
default_pool_size = {pool_size}
max_client_conn = 2000
; psycopg sends it; PgBouncer would otherwise refuse the connection.
ignore_startup_parameters = extra_float_digits
server_idle_timeout = 600
stats_period = {stats_period}
; A line per connection would be one per request.
log_connections = 0
log_disconnections = 0
""",
        encoding="utf-8",
    )
    for path in (directory, users, config):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return config


def pooled_url(database_url: str, port: int) -> str:
    """`database_url` with its host and port replaced by PgBouncer's."""
    url = urlsplit(database_url)
    credentials = url.netloc.rsplit("@", 1)[0] + "@" if "@" in url.netloc else ""
    return urlunsplit(url._replace(netloc=f"{credentials}127.0.0.1:{port}"))


def command(config: Path) -> list[str]:
    """The command line running PgBouncer in the foreground (it refuses to run as root)."""
    found = binary()
    if found is None:
        raise FileNotFoundError("pgbouncer is not installed: apt-get install pgbouncer")
    return [found, *(["-u", "nobody"] if os.geteuid() == 0 else []), str(config)]


def start(config: Path) -> subprocess.Popen:
    """PgBouncer in the background, its log in `pgbouncer.log` beside its config (a file, not a
    pipe: a pipe nobody reads would stall it once full)."""
    with (config.parent / "pgbouncer.log").open("ab") as log:
        return subprocess.Popen(command(config), stdout=subprocess.DEVNULL, stderr=log)


def pools(port: int) -> dict[str, dict[str, Any]]:
    """PgBouncer's SHOW POOLS (its admin console), by database name."""
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/pgbouncer", autocommit=True) as admin:
        cursor = admin.execute("SHOW POOLS")
        columns = [column.name for column in cursor.description or ()]
        return {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}


def server_connections(port: int, database: str) -> int:
    """The PostgreSQL connections PgBouncer holds for `database`, busy or idle."""
    pool = pools(port).get(database, {})
    return sum(int(pool.get(state, 0)) for state in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login"))


if __name__ == "__main__":
    # `make prod`'s Procfile: PgBouncer in the foreground, with the config prod_env wrote.
    found = command(Path(sys.argv[1]))
    os.execv(found[0], found)  # noqa: S606 (PgBouncer takes this process's place: honcho's signals reach it)
