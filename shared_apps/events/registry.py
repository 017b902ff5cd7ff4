"""Who reacts to which event. Apps subscribe in their AppConfig.ready(), so the app that emits
an event never imports the apps that react to it."""

from collections.abc import Callable
from typing import TYPE_CHECKING

from shared_apps.events.catalogue import event_type

if TYPE_CHECKING:
    from shared_apps.events.services import DomainEvent

# Called with the event, in its tenant's schema, inside the subscriber's own transaction (which
# also records the delivery): a handler that raises is retried, alone.
# What it returns is ignored.
Subscriber = Callable[["DomainEvent"], object]

_subscribers: dict[str, dict[str, Subscriber]] = {}


def subscribe(event_name: str, subscriber: str, handler: Subscriber) -> None:
    """Run `handler` for every `event_name` event, as its own job named `subscriber` (unique
    per event type; it keys the delivery record, so renaming a subscriber re-delivers nothing)."""
    event_type(event_name)  # a name missing from the catalogue fails at start-up
    _subscribers.setdefault(event_name, {})[subscriber] = handler


def unsubscribe(event_name: str, subscriber: str) -> None:
    _subscribers.get(event_name, {}).pop(subscriber, None)


def subscribers_of(event_name: str) -> dict[str, Subscriber]:
    return dict(_subscribers.get(event_name, {}))
