"""Real gunicorn servers for tests about state shared between processes: each runs with
deploy/gunicorn.conf.py on a free port, against the test database and this run's Redis
namespace."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from wsgiref.simple_server import WSGIServer

from django.conf import settings
from django.db import connection

from config.settings import BASE_DIR


@contextmanager
def serving_in_thread(server: WSGIServer) -> Iterator[str]:
    """Serves a loopback server (a provider sandbox made on port 0) in a thread; its base URL."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


GUNICORN = (sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "deploy/gunicorn.conf.py")


@dataclass(frozen=True)
class Server:
    port: int
    process: subprocess.Popen

    def request(
        self, method: str, path: str, *, host: str, token: str | None = None, body: Any = None
    ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {"Host": host, "Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            conn.request(method, f"/api/v1{path}", body=None if body is None else json.dumps(body), headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, **kwargs: Any) -> tuple[int, dict]:
        status, content = self.request(method, path, **kwargs)
        return status, json.loads(content)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_serving(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.process.poll() is None, server.process.stderr.read().decode()
        try:
            if server.request("GET", "/health", host=settings.BASE_DOMAIN)[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn on port {server.port} did not start")


def server_environment() -> dict[str, str]:
    """The environment of a process (server, manage.py command) that works on this run's test
    database and Redis namespace."""
    database_url = urlunsplit(urlsplit(settings.DATABASE_URL)._replace(path=f"/{connection.settings_dict['NAME']}"))
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": database_url,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
        "GUNICORN_ACCESS_LOG": "",
    }


@contextmanager
def gunicorn_servers(count: int, **env: str) -> Iterator[list[Server]]:
    """`count` gunicorn servers, started together, stopped on exit; `env` adds variables."""
    server_env = {**server_environment(), **env}
    with ExitStack() as stack:
        servers = []
        for _ in range(count):
            port = _free_port()
            process = subprocess.Popen(
                [*GUNICORN, "-b", f"127.0.0.1:{port}"],
                cwd=BASE_DIR,
                env=server_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            stack.callback(_stop, process)
            servers.append(Server(port=port, process=process))
        for server in servers:
            _wait_until_serving(server)
        yield servers


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
    process.wait(timeout=30)
    process.stderr.close()


# As deploy/Procfile runs it: no per-message compression (docs/realtime.md says why).
UVICORN = (sys.executable, "-m", "uvicorn", "config.asgi:application", "--ws-per-message-deflate", "false")


@contextmanager
def asgi_server(**env: str) -> Iterator[int]:
    """The live-updates ASGI process (uvicorn, config.asgi) on a free port, as `make run` starts
    it, against this run's test database and Redis namespace; `env` adds variables. Its port."""
    port = _free_port()
    process = subprocess.Popen(
        [*UVICORN, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--lifespan", "off"],
        cwd=BASE_DIR,
        env={**server_environment(), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/ws/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.2)
        yield port
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        process.stderr.close()
