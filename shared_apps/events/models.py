"""Which subscriber has handled which domain event (the events themselves travel in the outbox)."""

from django.db import models


class EventDelivery(models.Model):
    """Subscriber `subscriber` has handled event `event_id`. Written in the subscriber's own
    transaction, so a handler that fails leaves no row and its retry runs it again, and a
    repeated delivery of a handled event does nothing."""

    event_id = models.UUIDField()
    subscriber = models.CharField(max_length=100)
    event_type = models.CharField(max_length=100)
    schema_name = models.CharField(max_length=63)
    handled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_id", "subscriber"], name="event_delivery_once"),
        ]
        # The purge of old records reads them by age.
        indexes = [models.Index(fields=["handled_at"], name="event_delivery_handled_at")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} -> {self.subscriber}"
