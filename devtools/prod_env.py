"""Write the environment `make prod` runs under (honcho's env file): production settings on
this machine, behind Caddy with its internal CA, to PostgreSQL through PgBouncer. A variable
already set in the environment wins over the local default below; the secrets are made once
and kept under .local/ so tokens survive a restart.

    python -m devtools.prod_env .local/prod.env
"""

import os
import secrets
import sys
from pathlib import Path

from devtools import pgbouncer

ROOT = Path(__file__).resolve().parent.parent
SECRETS = ROOT / ".local" / "prod-secrets.env"

DEFAULTS = {
    "DJANGO_ENV": "production",
    "BASE_DOMAIN": "example.test",
    # Caddy asks /api/v1/tls/ask on the loopback; health checks too.
    "API_HOST_ALIASES": "127.0.0.1",
    # Caddy is the one proxy in front: its X-Forwarded-For entry is the client.
    "TRUSTED_PROXY_COUNT": "1",
    "APP_PORT": "8000",
    # Live updates (uvicorn) behind Caddy's /ws/.
    "REALTIME_PORT": "8001",
    "CADDY_TLS": "internal",
    "CADDY_HTTP_PORT": "8080",
    "CADDY_HTTPS_PORT": "8443",
    "CADDY_STORAGE": str(ROOT / ".local" / "caddy"),
    "CADDY_ADMIN": "off",
    "WEB_CONCURRENCY": "2",
}


def _secrets() -> dict[str, str]:
    if not SECRETS.exists():
        SECRETS.parent.mkdir(parents=True, exist_ok=True)
        SECRETS.write_text(
            f"SECRET_KEY={secrets.token_urlsafe(48)}\nJWT_SECRET={secrets.token_urlsafe(48)}\n", encoding="utf-8"
        )
        SECRETS.chmod(0o600)
    pairs = (line.split("=", 1) for line in SECRETS.read_text(encoding="utf-8").splitlines() if "=" in line)
    return dict(pairs)


def _pooler(directory: Path) -> dict[str, str]:
    """PgBouncer in front of DATABASE_URL (its config in `directory`, its port PGBOUNCER_PORT or
    a free one): the processes connect through it, per request or job (DB_POOL=false)."""
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        return {}
    port = int(os.environ.get("PGBOUNCER_PORT") or pgbouncer.free_port())
    config = pgbouncer.write_config(directory, database_url=database_url, port=port)
    return {
        "PGBOUNCER_CONFIG": str(config),
        "DATABASE_URL": pgbouncer.pooled_url(database_url, port),
        "DB_POOL": "false",
    }


def production_env(directory: Path) -> dict[str, str]:
    values = {**DEFAULTS, **_secrets()}
    return {**{key: os.environ.get(key, default) for key, default in values.items()}, **_pooler(directory)}


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    values = production_env(target.parent / "pgbouncer")
    target.write_text("".join(f"{key}={value}\n" for key, value in values.items()), encoding="utf-8")
    target.chmod(0o600)
