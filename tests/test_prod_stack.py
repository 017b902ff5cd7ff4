"""`make prod`'s stack, started the way the Makefile starts it (devtools/prod_env.py, then honcho
over deploy/Procfile: gunicorn, uvicorn, worker, scheduler, Caddy with its internal CA), driven
from outside with curl over TLS: a business's host answers with its own data, a stranger's
domain gets no certificate, and live updates open through the proxy's /ws/."""

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from websockets.sync.client import connect

from api.realtime import PROTOCOL
from config.settings import BASE_DIR
from shared_apps.tenants.models import CustomDomain, Domain
from tests.conftest import PASSWORD
from tests.servers import _free_port

CADDY = BASE_DIR / ".venv" / "bin" / "caddy"
HONCHO = BASE_DIR / ".venv" / "bin" / "honcho"
BASE_DOMAIN = "example.test"
OWN_DOMAIN = "book.own-domain.test"
UNPROVED_DOMAIN = "unproved.own-domain.test"

pytestmark = pytest.mark.skipif(
    not (CADDY.exists() and HONCHO.exists() and shutil.which("curl")),
    reason="caddy or honcho (requirements-dev.txt: caddyserver, honcho) or curl is not installed",
)


@dataclass(frozen=True)
class Stack:
    https_port: int
    root_certificate: Path

    def live_updates(self, host: str, token: str) -> dict:
        """Opens `wss://<host>/ws/v1/events` through Caddy; the server's first message."""
        context = ssl.create_default_context(cafile=str(self.root_certificate))
        sock = socket.create_connection(("127.0.0.1", self.https_port), timeout=20)
        with connect(
            f"wss://{host}:{self.https_port}/ws/v1/events",
            sock=sock,
            ssl=context,
            server_hostname=host,
            subprotocols=[PROTOCOL, f"bearer.{token}"],
            open_timeout=20,
        ) as ws:
            return json.loads(ws.recv(timeout=20))

    def curl(
        self, host: str, path: str, *, token: str | None = None, body: dict | None = None, prefix: str = "/api/v1"
    ):
        command = [
            "curl", "--silent", "--show-error", "--max-time", "20",
            "--resolve", f"{host}:{self.https_port}:127.0.0.1",
            "--cacert", str(self.root_certificate),
            "--write-out", "\n%{http_code}",
        ]  # fmt: skip
        if token:
            command += ["--header", f"Authorization: Bearer {token}"]
        if body is not None:
            command += ["--header", "Content-Type: application/json", "--data", json.dumps(body)]
        return subprocess.run(
            [*command, f"https://{host}:{self.https_port}{prefix}{path}"],
            capture_output=True,
            text=True,
            check=False,
        )


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _stop(process: subprocess.Popen) -> None:
    """Stop honcho and the processes it started (its own process group, started here)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@pytest.fixture
def prod_stack(tmp_path) -> Iterator[Stack]:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_KEY_PREFIX": f"sd_prod_{uuid.uuid4().hex[:8]}",
        "BASE_DOMAIN": BASE_DOMAIN,
        "APP_PORT": str(_free_port()),
        "REALTIME_PORT": str(_free_port()),
        "CADDY_HTTP_PORT": str(_free_port()),
        "CADDY_HTTPS_PORT": str(_free_port()),
        "CADDY_STORAGE": str(tmp_path / "caddy"),
        "TENANT_POOL_SIZE": "0",
        "WEB_CONCURRENCY": "1",
    }
    env_file = tmp_path / "prod.env"
    subprocess.run([sys.executable, "-m", "devtools.prod_env", str(env_file)], cwd=BASE_DIR, env=env, check=True)
    log = (tmp_path / "honcho.log").open("w")
    process = subprocess.Popen(
        [str(HONCHO), "--app-root", ".", "-f", "deploy/Procfile", "-e", str(env_file), "start"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack = Stack(
        https_port=int(env["CADDY_HTTPS_PORT"]),
        root_certificate=tmp_path / "caddy" / "pki" / "authorities" / "local" / "root.crt",
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "honcho.log").read_text()[-4000:]
            if (
                stack.root_certificate.exists()
                and stack.curl(BASE_DOMAIN, "/health").stdout.endswith("\n200")
                and stack.curl(BASE_DOMAIN, "/ws/health", prefix="").stdout.endswith("\n200")
            ):
                break
            time.sleep(0.5)
        else:
            raise AssertionError((tmp_path / "honcho.log").read_text()[-4000:])
        yield stack
    finally:
        _stop(process)
        log.close()


@pytest.fixture
def tenant_on_example_test(committed_tenant):
    """The committed tenant's host under the stack's BASE_DOMAIN, as provisioning there makes it."""
    host = f"{committed_tenant.slug}.{BASE_DOMAIN}"
    Domain.objects.create(domain=host, tenant=committed_tenant.tenant, is_primary=False)
    # An own domain verified (it has its Domain row) and one claimed but not proved.
    CustomDomain.objects.create(tenant=committed_tenant.tenant, domain=OWN_DOMAIN, verified_at=timezone.now())
    Domain.objects.create(domain=OWN_DOMAIN, tenant=committed_tenant.tenant, is_primary=False)
    CustomDomain.objects.create(tenant=committed_tenant.tenant, domain=UNPROVED_DOMAIN, verification_token="t")
    return committed_tenant, host


def test_prod_stack_serves_the_tenant_over_tls_and_refuses_strangers(tenant_on_example_test, prod_stack):
    tenant, host = tenant_on_example_test

    login = prod_stack.curl(host, "/auth/login", body={"email": tenant.owner.email, "password": PASSWORD})
    body, status = login.stdout.rsplit("\n", 1)
    assert status == "200", login.stdout + login.stderr
    token = json.loads(body)["access_token"]
    me = prod_stack.curl(host, "/tenants/me", token=token)
    on_own_domain = prod_stack.curl(OWN_DOMAIN, "/tenants/me", token=token)
    from_outside = [prod_stack.curl(BASE_DOMAIN, path).stdout[-3:] for path in ("/metrics", f"/tls/ask?domain={host}")]
    stranger = prod_stack.curl("stranger.example.org", "/health")
    unverified = prod_stack.curl(UNPROVED_DOMAIN, "/health")

    hello = prod_stack.live_updates(host, token)

    assert hello["type"] == "ready" and hello["role"] == "owner", hello
    for answer in (me, on_own_domain):
        answer_body, answer_status = answer.stdout.rsplit("\n", 1)
        assert answer_status == "200", answer.stdout + answer.stderr
        assert json.loads(answer_body)["slug"] == tenant.slug
    # Loopback-only routes are refused at the proxy (behind it every request comes from 127.0.0.1).
    assert from_outside == ["404", "404"]
    # No certificate: the TLS handshake fails (curl 35), nothing reaches the API.
    assert stranger.returncode == 35, stranger.stderr
    assert stranger.stdout.strip() in ("", "000")
    assert unverified.returncode == 35, unverified.stderr
