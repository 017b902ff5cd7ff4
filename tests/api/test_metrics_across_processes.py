"""/metrics adds up every server process: with PROMETHEUS_MULTIPROC_DIR set (as gunicorn's
config does), requests counted in separate processes all appear in one /metrics answer."""

import os
import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families

from config.settings import BASE_DIR
from tests.servers import gunicorn_servers

SERVE_HEALTH_CHECKS = """
import sys
import django
django.setup()
from tests.client import ApiClient
for _ in range(int(sys.argv[1])):
    assert ApiClient(host="localhost").get("/health").status_code == 200
"""


def serve_health_checks_in_other_processes(counts: list[int], metrics_dir: str) -> None:
    """One process per count, running side by side, each answering that many health checks."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings", "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    processes = [
        subprocess.Popen([sys.executable, "-c", SERVE_HEALTH_CHECKS, str(count)], cwd=BASE_DIR, env=env)
        for count in counts
    ]
    assert [process.wait(timeout=60) for process in processes] == [0] * len(counts)


def health_checks_counted(metrics_text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
        if sample.name == "http_requests_total" and sample.labels["route"].endswith("health")
    )


def test_metrics_add_up_the_requests_of_every_process(api_host, tmp_path, monkeypatch):
    # Given two server processes that answered 3 and 4 health checks
    serve_health_checks_in_other_processes([3, 4], str(tmp_path))
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


def test_gunicorn_counts_every_worker_and_forgets_an_earlier_run(django_db_setup, tmp_path):
    # Given the directory still holds the counts of an earlier run
    serve_health_checks_in_other_processes([5], str(tmp_path))

    # When a two-worker gunicorn answers three health checks
    with gunicorn_servers(1, WEB_CONCURRENCY="2", PROMETHEUS_MULTIPROC_DIR=str(tmp_path)) as (server,):
        # gunicorn_servers waited with one health check or more (on a loaded machine a check it
        # gave up on may still be answered, and counted)
        waited_with = health_checks_counted(server.request("GET", "/metrics", host="localhost")[1].decode())
        for _ in range(3):
            assert server.request("GET", "/health", host="localhost")[0] == 200
        status, content = server.request("GET", "/metrics", host="localhost")

    # Then its /metrics counts those three and the ones it was waited with, not the earlier five
    assert status == 200
    assert 1 <= waited_with < 5
    assert health_checks_counted(content.decode()) == waited_with + 3


RECORD_A_JOB = """
import django
django.setup()
from shared_apps.observability.metrics import JOB_DURATION
JOB_DURATION.labels("send_sms", "done").observe(0.25)
"""


def test_metrics_add_up_the_job_workers_written_in_a_directory_of_their_own(api_host, tmp_path, monkeypatch):
    # Given a job worker (another container, say) that ran a job with its values one level down
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "worker"),
    }
    (tmp_path / "worker").mkdir()
    subprocess.run([sys.executable, "-c", RECORD_A_JOB], cwd=BASE_DIR, env=env, check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    # When the API answers /metrics
    response = api_host.get("/metrics")

    # Then the job is counted
    jobs = [
        sample
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
        if sample.name == "job_duration_seconds_count" and sample.labels["actor"] == "send_sms"
    ]
    assert [(sample.labels["outcome"], sample.value) for sample in jobs] == [("done", 1.0)]
