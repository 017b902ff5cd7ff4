"""The outbox relay: publish rows written by services to their actors, after commit."""

import dramatiq

from shared_apps.outbox import services
from shared_apps.outbox.models import OutboxMessage
from tasks.broker import SCHEMA_OPTION


def publish(message: OutboxMessage) -> None:
    actor = dramatiq.get_broker().get_actor(message.actor_name)
    actor.send_with_options(kwargs=message.kwargs, **{SCHEMA_OPTION: message.schema_name})


def relay_outbox() -> int:
    """Publish what is waiting; returns how many messages were sent."""
    return services.relay_outbox(publish=publish)
