import logging
import os
import subprocess
import sys

from api.logging import RequestContextFilter, request_id_var, tenant_var, user_var
from config.settings import BASE_DIR


def import_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in ("SECRET_KEY", "JWT_SECRET")}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_default_secrets():
    result = import_settings(DJANGO_ENV="production")

    assert result.returncode != 0
    assert "SECRET_KEY and JWT_SECRET" in result.stderr


def test_production_starts_with_real_secrets():
    result = import_settings(DJANGO_ENV="production", SECRET_KEY="s" * 50, JWT_SECRET="j" * 40)

    assert result.returncode == 0, result.stderr


def test_log_records_carry_request_tenant_and_user():
    record = logging.LogRecord("api", logging.INFO, __file__, 1, "hello", None, None)
    tokens = (request_id_var.set("req-1"), tenant_var.set("t_abc"), user_var.set("42"))

    RequestContextFilter().filter(record)

    assert (record.request_id, record.tenant, record.user) == ("req-1", "t_abc", "42")
    request_id_var.reset(tokens[0])
    tenant_var.reset(tokens[1])
    user_var.reset(tokens[2])
