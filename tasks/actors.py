"""Every actor, by name. Actors take ids (never objects), run in the schema named by the
message, re-fetch what they need and call a service."""

import dramatiq

from shared_apps.idempotency import services as idempotency
from shared_apps.tenants import provisioning
from tasks.broker import broker  # noqa: F401 - configures Dramatiq before actors are declared


@dramatiq.actor(queue_name="default", max_retries=5)
def refill_tenant_pool() -> None:
    """Keep TENANT_POOL_SIZE ready schemas so registration never waits for DDL."""
    provisioning.refill_tenant_pool()


@dramatiq.actor(queue_name="default", max_retries=3)
def purge_idempotency_records() -> None:
    """Idempotency-Key answers are replayed for 24 hours, then deleted."""
    idempotency.purge_expired_idempotency_records()
