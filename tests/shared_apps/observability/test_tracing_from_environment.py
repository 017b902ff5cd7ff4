"""A process started with OTEL_TRACES_EXPORTER=console traces by itself (AppConfig.ready):
its SQL statements (psycopg), Redis commands and httpx requests become spans."""

import json
import subprocess
import sys

from config.settings import BASE_DIR
from tests.servers import server_environment

TRACED_WORK = """
import django
django.setup()
import httpx
from opentelemetry import trace
from shared_apps.tenants.models import Tenant
from tests.client import ApiClient

assert ApiClient(host="localhost").get("/ready").status_code == 200
Tenant.objects.count()
try:
    httpx.get("http://127.0.0.1:9/", timeout=1)
except httpx.HTTPError:
    pass
trace.get_tracer_provider().force_flush()
"""


def spans_printed(output: str) -> list[dict]:
    decoder, spans, position = json.JSONDecoder(), [], 0
    while (start := output.find("{", position)) != -1:
        span, position = decoder.raw_decode(output, start)
        spans.append(span)
    return spans


def test_the_otel_variables_alone_turn_tracing_on_for_sql_redis_and_httpx(django_db_setup):
    environment = {
        **server_environment(),
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_SERVICE_NAME": "servicedesk-test",
        "LOG_LEVEL": "WARNING",
        # A span for every statement and command, however quick (test_folding.py tests the default).
        "TRACING_CLIENT_SPAN_MIN_MS": "0",
    }

    done = subprocess.run(
        [sys.executable, "-c", TRACED_WORK], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    spans = spans_printed(done.stdout)
    kinds = {(span["attributes"].get("db.system"), span["kind"]) for span in spans}
    assert ("postgresql", "SpanKind.CLIENT") in kinds
    assert ("redis", "SpanKind.CLIENT") in kinds
    assert any(span["name"] == "GET api/v1/ready" and span["kind"] == "SpanKind.SERVER" for span in spans)
    assert any(span["attributes"].get("http.url") == "http://127.0.0.1:9" for span in spans)
    assert {span["resource"]["attributes"]["service.name"] for span in spans} == {"servicedesk-test"}
    assert any(
        'SELECT COUNT(*) AS "__count" FROM "tenants_tenant"' in span["attributes"].get("db.statement", "")
        for span in spans
    )
