"""Tenant changes reach every server process on its next request, not when its cache entry
expires: two real gunicorn servers (separate processes, separate in-process tenant caches)
on the test database and the test Redis namespace."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from config.settings import BASE_DIR
from shared_apps.tenants import services as tenant_services

pytestmark = pytest.mark.concurrency


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    port: int
    process: subprocess.Popen

    def request(self, method: str, path: str, *, host: str, token: str, body: Any = None) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {"Host": host, "Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            conn.request(method, f"/api/v1{path}", body=None if body is None else json.dumps(body), headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()


def start_server(tmp_path) -> Server:
    """gunicorn with one worker, as deployed, on the database pytest-django created."""
    port = free_port()
    database_url = urlunsplit(urlsplit(settings.DATABASE_URL)._replace(path=f"/{connection.settings_dict['NAME']}"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": database_url,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        # Far longer than the test: only the published change can refresh the cache.
        "TENANT_CACHE_SECONDS": "300",
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
        "GUNICORN_ACCESS_LOG": "",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{port}"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "deploy/gunicorn.conf.py", "-b", f"127.0.0.1:{port}"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return Server(port=port, process=process)


def wait_until_serving(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.process.poll() is None, server.process.stderr.read().decode()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
            conn.request("GET", "/api/v1/health", headers={"Host": settings.BASE_DOMAIN})
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn on port {server.port} did not start")


@pytest.fixture
def two_servers(committed_tenant, tmp_path) -> Iterator[tuple[Server, Server]]:
    servers = (start_server(tmp_path), start_server(tmp_path))
    try:
        for server in servers:
            wait_until_serving(server)
        yield servers
    finally:
        for server in servers:
            server.process.terminate()
            server.process.wait(timeout=30)
            server.process.stderr.close()


def test_settings_change_through_one_process_is_seen_by_the_other_at_once(committed_tenant, two_servers):
    first, second = two_servers
    host, token = committed_tenant.host, committed_tenant.owner_token
    # Given both processes have the tenant cached, by host and by token on the API host
    for server in two_servers:
        assert server.request("GET", "/tenants/me", host=host, token=token)[1]["timezone"] == "America/New_York"
        assert server.request("GET", "/tenants/me", host=settings.BASE_DOMAIN, token=token)[0] == 200

    # When the time zone and the invoice prefix change through the first
    status, _ = first.request(
        "PATCH", "/tenants/me", host=host, token=token, body={"timezone": "Asia/Tokyo", "invoice_prefix": "BILL"}
    )
    assert status == 200

    # Then the second answers with the new settings on its next request, by host and by token
    for request_host in (host, settings.BASE_DOMAIN):
        status, body = second.request("GET", "/tenants/me", host=request_host, token=token)
        assert (status, body["timezone"], body["invoice_prefix"]) == (200, "Asia/Tokyo", "BILL")


def test_suspension_by_a_third_process_is_seen_by_every_process_at_once(committed_tenant, two_servers):
    host, token = committed_tenant.host, committed_tenant.owner_token
    for server in two_servers:
        assert server.request("GET", "/tenants/me", host=host, token=token)[0] == 200

    tenant_services.set_tenant_status(tenant_id=committed_tenant.tenant.pk, status="suspended")

    assert [server.request("GET", "/tenants/me", host=host, token=token)[0] for server in two_servers] == [403, 403]
    assert [
        server.request("GET", "/tenants/me", host=settings.BASE_DOMAIN, token=token)[0] for server in two_servers
    ] == [403, 403]

    tenant_services.set_tenant_status(tenant_id=committed_tenant.tenant.pk, status="active")

    assert [server.request("GET", "/tenants/me", host=host, token=token)[0] for server in two_servers] == [200, 200]
