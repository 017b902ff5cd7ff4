"""The outbox relay: publish rows written by services to their actors, after commit."""

import dramatiq
import redis

from shared_apps.outbox import services
from shared_apps.outbox.models import OutboxMessage
from tasks.broker import OUTBOX_OPTION, SCHEMA_OPTION, TRACE_OPTION

# The broker is away: the pass stops and the messages wait, their attempts uncounted.
BROKER_ERRORS = (redis.ConnectionError, redis.TimeoutError, dramatiq.errors.ConnectionError)


def publish(message: OutboxMessage, *, broker: dramatiq.Broker | None = None) -> None:
    broker = broker or dramatiq.get_broker()
    actor = broker.get_actor(message.actor_name)
    options = {SCHEMA_OPTION: message.schema_name, OUTBOX_OPTION: message.pk, TRACE_OPTION: message.trace_context}
    broker.enqueue(actor.message_with_options(kwargs=message.kwargs, **options))


def relay_outbox(*, broker: dramatiq.Broker | None = None) -> int:
    """Publish what is due; returns how many messages were sent."""
    return services.relay_outbox(publish=lambda message: publish(message, broker=broker), broker_errors=BROKER_ERRORS)
