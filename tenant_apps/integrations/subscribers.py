"""Integrations subscribe to every event type of the catalogue: each event becomes a
delivery to each endpoint that chose its type (services.queue_event_deliveries)."""

from shared_apps.events.catalogue import EVENT_TYPES
from shared_apps.events.registry import subscribe
from shared_apps.events.services import DomainEvent
from tenant_apps.integrations import services

SUBSCRIBER = "integrations.webhooks"


def deliver_to_endpoints(event: DomainEvent) -> None:
    services.queue_event_deliveries(event=event)


def subscribe_all() -> None:
    for event_name in EVENT_TYPES:
        subscribe(event_name, SUBSCRIBER, deliver_to_endpoints)
