"""Emitting domain events and delivering them to subscribers.

`emit` validates the payload against the catalogue and writes the event to the outbox in the
caller's transaction: a rolled-back change emits nothing. The relay hands it to the
`deliver_domain_event` job, which writes one outbox job per subscriber (`fan_out_event`);
each runs `run_subscriber` alone, so a failing subscriber is retried without holding up the
others, and a handled (event, subscriber) pair is never handled twice."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from pydantic import BaseModel, ConfigDict

from shared_apps.events.actors import current_actor
from shared_apps.events.catalogue import Payload, event_type
from shared_apps.events.models import EventDelivery
from shared_apps.events.registry import subscribers_of
from shared_apps.outbox.services import enqueue_after_commit

DELIVER_ACTOR = "deliver_domain_event"
SUBSCRIBER_ACTOR = "run_event_subscriber"
# A delivery record must outlive every redelivery of its event: the outbox keeps a published
# job a week and Dramatiq's retries back off to a week at most, so a month is ample.
DELIVERY_RETENTION = timedelta(days=30)


class DomainEvent(BaseModel):
    """One event: what happened (type, version, payload), where (the tenant's schema), when
    and because of whom."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    type: str
    version: int
    tenant: str
    occurred_at: datetime
    actor: str
    payload: Payload

    def as_message(self) -> dict[str, Any]:
        """The event as JSON-ready data (outbox kwargs, integrations)."""
        data = self.model_dump(mode="json")
        data["payload"] = self.payload.model_dump(mode="json")
        return data


def parse_event(data: dict[str, Any]) -> DomainEvent:
    """An event back from its message, the payload validated against its type's schema."""
    kind = event_type(data["type"])
    return DomainEvent(**{**data, "payload": kind.payload.model_validate(data["payload"])})


def emit(
    event_name: str,
    *,
    actor: str | None = None,
    now: datetime | None = None,
    tenant_schema: str | None = None,
    **payload: Any,
) -> DomainEvent:
    """Record event `event_name` of the active tenant (or `tenant_schema`, for a change made in
    the public schema such as a membership), in the caller's transaction. The payload is
    validated here (a wrong field is a bug, raised at once). The actor defaults to whoever the
    request or job acts as (actors.acting_as)."""
    kind = event_type(event_name)
    schema_name = tenant_schema or connection.schema_name  # type: ignore[attr-defined]  # django-tenants' database backend
    if not schema_name or schema_name == "public":
        raise RuntimeError(f"{event_name} emitted outside a tenant's schema")
    event = DomainEvent(
        id=uuid.uuid4(),
        type=kind.name,
        version=kind.version,
        tenant=schema_name,
        occurred_at=now or timezone.now(),
        actor=actor or current_actor(),
        payload=kind.payload.model_validate(payload),
    )
    enqueue_after_commit(actor_name=DELIVER_ACTOR, schema_name=schema_name, event=event.as_message())
    return event


def fan_out_event(*, event: dict[str, Any]) -> int:
    """One job per subscriber of the event (a repeated fan-out writes none twice). Returns how
    many subscribers there are."""
    parsed = parse_event(event)
    subscribers = subscribers_of(parsed.type)
    with transaction.atomic():
        for name in subscribers:
            enqueue_after_commit(
                actor_name=SUBSCRIBER_ACTOR,
                schema_name=parsed.tenant,
                dedupe_key=f"event:{parsed.id}:{name}",
                event=event,
                subscriber=name,
            )
    return len(subscribers)


def run_subscriber(*, event: dict[str, Any], subscriber: str) -> bool:
    """Run one subscriber for one event, at most once: the delivery record and the handler's
    work commit together. Returns False when it was handled before or is no longer subscribed."""
    parsed = parse_event(event)
    handler = subscribers_of(parsed.type).get(subscriber)
    if handler is None:
        return False
    with transaction.atomic():
        try:
            with transaction.atomic():
                EventDelivery.objects.create(
                    event_id=parsed.id, subscriber=subscriber, event_type=parsed.type, schema_name=parsed.tenant
                )
        except IntegrityError:
            return False
        handler(parsed)
    return True


def purge_event_deliveries(*, now: datetime | None = None) -> int:
    """Delete delivery records older than DELIVERY_RETENTION (run hourly by the scheduler), so
    the table holds the recent past, not every reaction ever run."""
    cutoff = (now or timezone.now()) - DELIVERY_RETENTION
    deleted, _ = EventDelivery.objects.filter(handled_at__lt=cutoff).delete()
    return deleted
