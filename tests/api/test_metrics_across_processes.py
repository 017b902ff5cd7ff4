"""/metrics adds up every server process: with PROMETHEUS_MULTIPROC_DIR set (as gunicorn's
config does), requests counted in separate processes all appear in one /metrics answer."""

import os
import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families

from config.settings import BASE_DIR

SERVE_HEALTH_CHECKS = """
import sys
import django
django.setup()
from tests.client import ApiClient
for _ in range(int(sys.argv[1])):
    assert ApiClient(host="localhost").get("/health").status_code == 200
"""


def serve_health_checks_in_another_process(count: int, metrics_dir: str) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings", "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    subprocess.run(
        [sys.executable, "-c", SERVE_HEALTH_CHECKS, str(count)], cwd=BASE_DIR, env=env, check=True, timeout=60
    )


def health_checks_counted(metrics_text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
        if sample.name == "http_requests_total" and sample.labels["route"].endswith("health")
    )


def test_metrics_add_up_the_requests_of_every_process(api_host, tmp_path, monkeypatch):
    # Given two server processes that answered 3 and 4 health checks
    serve_health_checks_in_another_process(3, str(tmp_path))
    serve_health_checks_in_another_process(4, str(tmp_path))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    # When a third one answers /metrics
    response = api_host.get("/metrics")

    # Then it counts all seven
    assert response.status_code == 200
    assert health_checks_counted(response.content.decode()) == 7


def test_without_a_directory_metrics_are_this_process_own(api_host, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    before = health_checks_counted(api_host.get("/metrics").content.decode())

    api_host.get("/health")

    assert health_checks_counted(api_host.get("/metrics").content.decode()) == before + 1
