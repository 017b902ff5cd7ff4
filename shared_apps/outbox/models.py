"""Work that must happen after a transaction commits, written in that same transaction."""

from django.db import models


class OutboxMessage(models.Model):
    """A job to publish: the actor's name, its arguments and the tenant schema it runs in.
    The relay in `tasks/` publishes unsent rows, so a broker outage delays work, loses none."""

    actor_name = models.CharField(max_length=100)
    kwargs = models.JSONField(default=dict)
    schema_name = models.CharField(max_length=63, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["id"], name="outbox_unpublished_idx", condition=models.Q(published_at__isnull=True))
        ]

    def __str__(self) -> str:
        return f"{self.actor_name}({self.kwargs}) in {self.schema_name or 'public'}"
