"""`make run` runs the API, the worker and the scheduler under supervisord with
devtools/supervisord.conf: a process that dies is started again, the others keep running."""

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.outage_stack import closed_port

REPO_ROOT = Path(__file__).resolve().parent.parent
SUPERVISORCTL = REPO_ROOT / ".venv" / "bin" / "supervisorctl"
CONFIG = REPO_ROOT / "devtools" / "supervisord.conf"


def running_pids(env: dict[str, str]) -> dict[str, int]:
    """{program: pid} of the programs supervisord reports RUNNING."""
    result = subprocess.run(
        [SUPERVISORCTL, "-c", CONFIG, "status"], env=env, capture_output=True, text=True, timeout=10, check=False
    )
    pids = {}
    for line in result.stdout.splitlines():
        name, state, *rest = line.split()
        if state == "RUNNING":
            pids[name] = int(rest[1].rstrip(","))
    return pids


def wait_for(condition, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    return condition()


def test_a_process_that_dies_is_restarted(tmp_path):
    env = {
        **os.environ,
        "SUPERVISOR_RUN_DIR": str(tmp_path),
        "PORT": str(closed_port()),
        "REALTIME_PORT": str(closed_port()),
        "WEB_CONCURRENCY": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Nothing listens there: the scheduler and the worker must stay up anyway.
        "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/absent",
    }
    with (tmp_path / "supervisord.out").open("w") as output:
        supervisord = subprocess.Popen(
            [REPO_ROOT / ".venv" / "bin" / "supervisord", "-c", CONFIG],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        before = wait_for(lambda: (pids := running_pids(env)).keys() >= {"web", "scheduler"} and pids, timeout=30)
        os.kill(before["scheduler"], signal.SIGKILL)
        after = wait_for(
            lambda: (pids := running_pids(env)).get("scheduler", before["scheduler"]) != before["scheduler"] and pids,
            timeout=30,
        )
    finally:
        supervisord.terminate()
        supervisord.wait(timeout=30)

    assert after, (tmp_path / "supervisord.out").read_text()[-3000:]
    assert after["scheduler"] != before["scheduler"]
    assert after["web"] == before["web"]
