import logging
import os
import subprocess
import sys

from api.logging import RequestContextFilter
from config.settings import BASE_DIR
from shared_apps.observability.context import request_id_var, tenant_var, user_var


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


def test_production_passes_check_deploy_without_warnings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DJANGO_ENV": "production",
            "SECRET_KEY": "a-real-production-secret-" + "k" * 40,
            "JWT_SECRET": "a-real-production-jwt-secret-" + "j" * 40,
            "BASE_DOMAIN": "example.test",
        },
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_hosts_come_from_base_domain_and_https_is_enforced_behind_the_proxy():
    script = (
        "from django.conf import settings as s; "
        "print(s.TENANT_HOST_PATTERNS, s.SECURE_SSL_REDIRECT, s.SECURE_PROXY_SSL_HEADER, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_INCLUDE_SUBDOMAINS)"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django, os; django.setup(); {script}"],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_ENV": "production",
            "SECRET_KEY": "s" * 50,
            "JWT_SECRET": "j" * 40,
            "BASE_DOMAIN": "example.test",
        },
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip()
        == "['example.test', '.example.test'] True ('HTTP_X_FORWARDED_PROTO', 'https') True True True"
    )
