"""gunicorn: WSGI with threads. The stack is synchronous (ORM, row locks), so a thread per
request and a process per core; each thread keeps its pooled database connection."""

import multiprocessing
import os
import shutil
import tempfile

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# gthread, with gunicorn's own refusals (request line or headers too long, malformed) in the
# API's error envelope (deploy/gunicorn_worker.py).
worker_class = "deploy.gunicorn_worker.EnvelopeThreadWorker"
# Path and query up to 8190 bytes (gunicorn's maximum; its default is 4094); longer: 414.
limit_request_line = 8190
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"

# Metrics of every worker (api/metrics.py): prometheus_client's multiprocess mode keeps each
# process's values in files under PROMETHEUS_MULTIPROC_DIR. Without that variable this server
# gets a fresh directory of its own, removed on exit; a given directory is emptied at start so
# the counts of an earlier run are not added to this one's.
_own_metrics_dir: str | None = None


def on_starting(server) -> None:
    global _own_metrics_dir
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))
    else:
        _own_metrics_dir = tempfile.mkdtemp(prefix="servicedesk-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _own_metrics_dir


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
