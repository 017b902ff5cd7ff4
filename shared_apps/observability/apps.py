from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "shared_apps.observability"
    label = "observability"

    def ready(self) -> None:
        from shared_apps.observability import sentry, tracing

        # Each process that sets Django up (a gunicorn worker after its fork, the Dramatiq
        # worker, the scheduler, a command) configures itself from the environment once.
        tracing.configure_from_environment()
        sentry.configure_from_environment()
