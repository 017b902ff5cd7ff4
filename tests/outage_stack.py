"""A throwaway PostgreSQL and redis-server (devtools/devservices.py, in a directory of their own,
on free ports) and the API under gunicorn in a subprocess: the servers can be stopped and
started again while the API keeps running. Used by tests/test_outage_drills.py and
bench/outage.py (which also runs it on an older checkout's code for the "before" figures)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools import devservices

REPO_ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a-long-drill-password-1"


def closed_port() -> int:
    """A local port nothing listens on: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Answer:
    status: int
    seconds: float
    body: dict[str, Any]
    retry_after: str | None


@dataclass
class OutageStack:
    directory: Path
    source: Path = REPO_ROOT  # the checkout whose code the API runs
    api_port: int = 0
    layout: devservices.Layout = field(init=False)
    api: subprocess.Popen | None = field(default=None, init=False)
    # Extra environment of every process (e.g. a short OUTBOX_REPUBLISH_AFTER).
    extra_env: dict[str, str] = field(default_factory=dict)
    # The worker, the scheduler and the Twilio sandbox, by name (start_background).
    background: dict[str, subprocess.Popen] = field(default_factory=dict, init=False)
    sandbox_port: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.layout = devservices.load_layout(self.directory / "services")
        taken = {self.layout.pg_port, self.layout.redis_port}
        if not self.api_port:
            self.api_port = devservices.free_port(preferred=self.layout.redis_port + 1, taken=taken)
        self.sandbox_port = devservices.free_port(preferred=self.api_port + 1, taken={*taken, self.api_port})

    # --- servers ---------------------------------------------------------------------------

    def start_postgres(self) -> None:
        devservices.ensure_postgres(self.layout)

    def stop_postgres(self) -> None:
        devservices.stop_postgres(self.layout)

    def start_redis(self) -> None:
        devservices.ensure_redis(self.layout)

    def stop_redis(self) -> None:
        devservices.stop_redis(self.layout)

    def env(self) -> dict[str, str]:
        return {
            **{name: value for name, value in os.environ.items() if not name.startswith(("PYTEST", "DJANGO"))},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": self.layout.database_url,
            "REDIS_URL": self.layout.redis_url,
            "REDIS_KEY_PREFIX": "drill",
            "DEBUG": "false",
            "BASE_DOMAIN": "localhost",
            "TENANT_POOL_SIZE": "0",
            "RATE_LIMIT_LOGIN": "1000",
            "RATE_LIMIT_REGISTER": "1000",
            "GUNICORN_ACCESS_LOG": "",
            # The test process sets these for itself (config/test_settings.py); these processes
            # run as deployed, with the Redis broker.
            "DRAMATIQ_STUB_BROKER": "false",
            "TESTING": "",
            "PORT": str(self.api_port),
            "PUBLIC_BASE_URL": f"http://localhost:{self.api_port}",
            "TWILIO_ACCOUNT_SID": "",
            "TWILIO_SANDBOX_URL": f"http://127.0.0.1:{self.sandbox_port}",
            **self.extra_env,
        }

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "migrate_schemas", "--shared", "-v", "0"],
            cwd=self.source,
            env={**self.env(), "DB_POOL": "false"},
            check=True,
            capture_output=True,
            timeout=300,
        )

    # --- the API ---------------------------------------------------------------------------

    def start_api(self) -> None:
        self.log = (self.directory / "api.log").open("w")
        self.api = subprocess.Popen(
            [
                *(Path(sys.executable).parent / "gunicorn", "config.wsgi"),
                *("--bind", f"127.0.0.1:{self.api_port}", "--workers", "1", "--threads", "4"),
                *("--worker-class", "gthread", "--timeout", "120"),
            ],
            cwd=self.source,
            env=self.env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while self.request("GET", "/health", timeout=2).status != 200:
            if self.api.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start:\n{self.api_log()}")
            time.sleep(0.2)

    def stop_api(self) -> None:
        if self.api is not None and self.api.poll() is None:
            self.api.send_signal(signal.SIGTERM)
            try:
                self.api.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.api.kill()
                self.api.wait(timeout=10)
        self.log.close()

    def api_log(self) -> str:
        return (self.directory / "api.log").read_text()[-5000:]

    # --- the worker, the scheduler and the Twilio sandbox ------------------------------------

    COMMANDS = {
        "worker": ("dramatiq", "tasks.worker", "--processes", "1", "--threads", "2"),
        "scheduler": ("python", "manage.py", "run_scheduler"),
        "twilio-sandbox": ("python", "-m", "devtools.twilio_sandbox"),
    }

    def start_background(self, name: str) -> None:
        """Start one of COMMANDS with the stack's environment, its output in `<name>.log`."""
        program, *arguments = self.COMMANDS[name]
        executable = sys.executable if program == "python" else str(Path(sys.executable).parent / program)
        log = (self.directory / f"{name}.log").open("a")
        self.background[name] = subprocess.Popen(
            [executable, *arguments], cwd=self.source, env=self.env(), stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def stop_background(self, name: str) -> None:
        process = self.background.pop(name, None)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def background_log(self, name: str) -> str:
        path = self.directory / f"{name}.log"
        return path.read_text()[-3000:] if path.exists() else ""

    def sandbox_messages(self) -> list[dict[str, Any]]:
        """What the Twilio sandbox was asked to send."""
        url = f"http://127.0.0.1:{self.sandbox_port}/sandbox/messages"
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own local sandbox
            return json.loads(response.read())["messages"]

    def close(self) -> None:
        for name in list(self.background):
            self.stop_background(name)
        self.stop_api()
        self.stop_redis()
        self.stop_postgres()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        host: str = "localhost",
        token: str | None = None,
        timeout: float = 120,
    ) -> Answer:
        """One request; a refused connection answers status 0."""
        headers = {"Host": host, "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.api_port}/api/v1{path}", data=data, headers=headers, method=method
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our own local API
                status, content, retry_after = response.status, response.read(), response.headers.get("Retry-After")
        except urllib.error.HTTPError as error:
            status, content, retry_after = error.code, error.read(), error.headers.get("Retry-After")
        except (TimeoutError, ConnectionError, urllib.error.URLError):
            status, content, retry_after = 0, b"", None
        seconds = time.perf_counter() - started
        try:
            parsed = json.loads(content) if content else {}
        except ValueError:
            parsed = {"raw": content[:200].decode(errors="replace")}
        return Answer(status=status, seconds=seconds, body=parsed, retry_after=retry_after)

    # --- a tenant to call ------------------------------------------------------------------

    def register(self, slug: str) -> tuple[str, Answer]:
        """Register a business; returns (its host, the answer)."""
        answer = self.request(
            "POST",
            "/auth/register",
            {"business_name": slug.title(), "email": f"owner@{slug}.test", "password": PASSWORD, "slug": slug},
        )
        return f"{slug}.localhost", answer

    def login(self, slug: str) -> Answer:
        return self.request("POST", "/auth/login", {"email": f"owner@{slug}.test", "password": PASSWORD})
