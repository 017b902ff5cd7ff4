"""Domain events in tests: what a change emitted, and running the subscriber jobs in-process
as the worker would (fan-out, then each subscriber in its own transaction)."""

from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.events import services as events
from shared_apps.events.services import DomainEvent, parse_event
from shared_apps.outbox.models import OutboxMessage


def emitted(event_name: str | None = None, *, schema_name: str | None = None) -> list[DomainEvent]:
    """Events written to the outbox and not yet delivered, oldest first."""
    rows = OutboxMessage.objects.filter(actor_name=events.DELIVER_ACTOR, published_at__isnull=True).order_by("id")
    if schema_name is not None:
        rows = rows.filter(schema_name=schema_name)
    found = [parse_event(row.kwargs["event"]) for row in rows]
    return [event for event in found if event_name is None or event.type == event_name]


def deliver_events(*, schema_name: str | None = None) -> None:
    """Run every pending event's fan-out and subscriber jobs (of one tenant's schema, or all),
    as the worker would, each in its event's schema; the rows are marked published so they
    run once. Restores the schema."""
    schema_before = connection.schema_name
    try:
        while True:
            rows = OutboxMessage.objects.filter(
                actor_name__in=[events.DELIVER_ACTOR, events.SUBSCRIBER_ACTOR], published_at__isnull=True
            )
            if schema_name is not None:
                rows = rows.filter(schema_name=schema_name)
            row = rows.order_by("id").first()
            if row is None:
                return
            OutboxMessage.objects.filter(pk=row.pk).update(published_at=timezone.now())
            with schema_context(row.schema_name):
                if row.actor_name == events.DELIVER_ACTOR:
                    events.fan_out_event(**row.kwargs)
                else:
                    events.run_subscriber(**row.kwargs)
    finally:
        connection.set_schema(schema_before)
