"""Every test falls in one lane, unit, database or system, assigned at collection from what it
uses (tests/lanes.py): `make test-fast` leaves out the system lane."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODULES = [
    "tests/tenant_apps/billing/test_totals.py",  # pure functions
    "tests/api/test_customers.py",  # the test database
    "tests/test_gunicorn_limits.py",  # gunicorn in a subprocess
    "tests/tenant_apps/sms/test_sending.py",  # some tests talk to the Twilio sandbox over HTTP
]


def collected(marker: str | None) -> set[str]:
    selection = ["-m", marker] if marker else []
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:warnings", *selection, *MODULES],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {line for line in result.stdout.splitlines() if "::" in line}


def test_each_test_is_in_exactly_one_lane_found_from_what_it_uses():
    unit, database, system, every = (collected(marker) for marker in ("unit", "database", "system", None))

    assert unit | database | system == every
    assert not (unit & database or unit & system or database & system)
    assert {test.split("::")[0] for test in unit} == {MODULES[0]}
    assert {test.split("::")[0] for test in database} == {MODULES[1], MODULES[3]}
    assert {test.split("::")[0] for test in system} == {MODULES[2], MODULES[3]}
    assert (
        "tests/tenant_apps/sms/test_sending.py::test_sending_hands_the_message_to_twilio_once_and_claims_its_sid"
        in system
    )
