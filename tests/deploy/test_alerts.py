"""deploy/alerts.yml through promtool (Debian's prometheus package; .ci/run installs it when
missing): the rules are valid and their unit tests in alerts.test.yml pass."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from config.settings import BASE_DIR

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (apt-get install prometheus; CI installs it)"
)
DEPLOY = Path(BASE_DIR) / "deploy"


def promtool(*args: str) -> subprocess.CompletedProcess:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.system
@needs_promtool
def test_the_alert_rules_are_valid():
    checked = promtool("check", "rules", str(DEPLOY / "alerts.yml"))

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 11 rules found" in checked.stdout


@pytest.mark.system
@needs_promtool
def test_the_alert_rules_pass_their_unit_tests():
    tested = promtool("test", "rules", str(DEPLOY / "alerts.test.yml"))

    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_has_a_unit_test_in_which_it_fires():
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    tests = yaml.safe_load((DEPLOY / "alerts.test.yml").read_text())

    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    fired = {check["alertname"] for test in tests["tests"] for check in test["alert_rule_test"] if check["exp_alerts"]}

    assert fired == alerts
