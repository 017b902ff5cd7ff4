"""Write the environment `make prod` runs under (honcho's env file): production settings on
this machine, behind Caddy with its internal CA. A variable already set in the environment
wins over the local default below; the secrets are made once and kept under .local/ so tokens
survive a restart.

    python -m devtools.prod_env .local/prod.env
"""

import os
import secrets
import sys
from pathlib import Path

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


def production_env() -> dict[str, str]:
    values = {**DEFAULTS, **_secrets()}
    return {key: os.environ.get(key, default) for key, default in values.items()}


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(f"{key}={value}\n" for key, value in production_env().items()), encoding="utf-8")
    target.chmod(0o600)
