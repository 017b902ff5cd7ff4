"""Work that must happen after a transaction commits, written in that same transaction."""

from django.db import models
from django.db.models.functions import Coalesce


class OutboxMessage(models.Model):
    """A job to publish: the actor's name, its arguments and the tenant schema it runs in.
    The relay in `tasks/` publishes unsent rows once they are due, so a broker outage delays
    work, loses none. `run_at` null means due at once (at `created_at`)."""

    actor_name = models.CharField(max_length=100)
    kwargs = models.JSONField(default=dict)
    schema_name = models.CharField(max_length=63, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    run_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Set by the worker when it first takes the job. A row published but not started after
    # OUTBOX_REPUBLISH_AFTER is published again (the broker may have lost it, e.g. a Redis
    # restart without persistence); the worker runs only the first copy it takes.
    started_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Work that must be queued once whoever asks for it (the next daily run, a deferred
    # reminder): a second row with the same key is never written.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    # Set after too many failed publishes: the row leaves the queue and waits for an admin.
    dead_at = models.DateTimeField(null=True, blank=True)
    # The trace of the request or job that wrote the row (W3C traceparent/tracestate, and its
    # request id) so the job continues it; empty when tracing is off and no request was active.
    trace_context = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            # "What is due" is a range scan of this index, in due order, whatever else is stored.
            models.Index(
                Coalesce("run_at", "created_at"),
                "id",
                name="outbox_due_idx",
                condition=models.Q(published_at__isnull=True, dead_at__isnull=True),
            ),
            models.Index(fields=["dead_at"], name="outbox_dead_idx", condition=models.Q(dead_at__isnull=False)),
            # "What was published and has not started" reads only the rows in flight.
            models.Index(
                fields=["published_at"],
                name="outbox_unstarted_idx",
                condition=models.Q(published_at__isnull=False, started_at__isnull=True, dead_at__isnull=True),
            ),
            # The purge of published rows reads them oldest first.
            models.Index(
                fields=["published_at"], name="outbox_published_idx", condition=models.Q(published_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor_name}({self.kwargs}) in {self.schema_name or 'public'}"
