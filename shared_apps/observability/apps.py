import os

from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "shared_apps.observability"
    label = "observability"

    def ready(self) -> None:
        from shared_apps.observability import sentry, tracing

        # prometheus_client writes this process's values there (multiprocess mode) and needs
        # the directory to exist; a job worker's is a directory of its own below the server's.
        if directory := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            os.makedirs(directory, exist_ok=True)

        # Each process that sets Django up (a gunicorn worker after its fork, the Dramatiq
        # worker, the scheduler, a command) configures itself from the environment once.
        tracing.configure_from_environment()
        sentry.configure_from_environment()
