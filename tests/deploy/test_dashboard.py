import json
from pathlib import Path

import yaml

from config.settings import BASE_DIR
from tests.deploy.promql import exported_names, metric_names

DEPLOY = Path(BASE_DIR) / "deploy"


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def alert_expressions() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def test_promql_names_are_the_series_not_the_functions_or_labels():
    expr = 'histogram_quantile(0.95, sum by (route, le) (rate(a_seconds_bucket{status=~"5.."}[5m]))) / b_total > 1'

    assert metric_names(expr) == {"a_seconds_bucket", "b_total"}


def test_the_dashboard_and_the_alerts_read_only_metrics_the_api_exports(api_host):
    response = api_host.get("/metrics")
    exported = exported_names(response.content.decode())

    read = {name for expr in dashboard_expressions() + alert_expressions() for name in metric_names(expr)}

    assert response.status_code == 200
    assert read - exported == set()
    # ... and it shows the main figures: requests, database, providers, jobs, queue, outbox, webhooks
    assert {
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "http_request_db_statements_sum",
        "http_request_db_seconds_sum",
        "provider_request_duration_seconds_bucket",
        "provider_errors_total",
        "job_duration_seconds_bucket",
        "job_queue_wait_seconds_bucket",
        "dramatiq_queue_messages",
        "outbox_due_lag_seconds",
        "outbox_dead_messages",
        "webhook_processing_lag_seconds_bucket",
    } <= {name for expr in dashboard_expressions() for name in metric_names(expr)}


def test_every_dashboard_panel_has_a_unique_id_and_a_prometheus_query():
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    panels = dashboard["panels"]

    assert len({panel["id"] for panel in panels}) == len(panels)
    assert all(panel["targets"] and panel["datasource"]["type"] == "prometheus" for panel in panels)
