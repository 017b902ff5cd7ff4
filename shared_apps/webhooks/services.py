"""The provider pipeline: a verified event is stored once under (provider, dedupe key) with its
raw body and routed to the tenant owning its identifiers; processing runs later, in a job, in
that tenant's schema, so the provider gets its answer at once and a redelivery changes nothing."""

import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.errors import Conflict, NotFound
from shared_apps.events.actors import acting_as
from shared_apps.flags.catalogue import FLAG_OF_PROVIDER
from shared_apps.observability.context import tenant_var
from shared_apps.observability.metrics import WEBHOOK_LAG
from shared_apps.outbox.services import enqueue_after_commit
from shared_apps.tenants.models import Tenant
from shared_apps.webhooks.handlers import NeedsReview, webhook_handler
from shared_apps.webhooks.models import ProviderRoute, WebhookEvent
from shared_apps.webhooks.queries import resolve_route

PROCESS_ACTOR = "process_webhook_event"


_CLAIM_ROUTE = f"""
    INSERT INTO {ProviderRoute._meta.db_table} (provider, kind, external_id, tenant_id, created_at)
    VALUES (%s, %s, %s, %s, now())
    ON CONFLICT (provider, external_id) DO NOTHING
    RETURNING id, created_at
"""  # noqa: S608 - the table name is ours, every value is a parameter


def claim_provider_route(*, tenant_id: int, provider: str, kind: str, external_id: str) -> ProviderRoute:
    """Record that `tenant_id` owns `external_id` at `provider`. Claiming one's own route again
    is a no-op; an identifier another tenant holds raises Conflict. Concurrent claims are
    decided by the unique constraint: the later one waits for the earlier transaction and then
    sees its row. A new route is one statement (webhook answers claim call ids inline)."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_ROUTE, [provider, kind, external_id, tenant_id])
        inserted = cursor.fetchone()
    if inserted is not None:
        route = ProviderRoute(
            pk=inserted[0], provider=provider, kind=kind, external_id=external_id, tenant_id=tenant_id
        )
        route.created_at = inserted[1]
        route._state.adding = False
        return route
    route = ProviderRoute.objects.get(provider=provider, external_id=external_id)
    if route.tenant_id != tenant_id or route.kind != kind:
        raise Conflict(
            "This identifier is already used by another business.",
            code="provider_id_taken",
            details=[{"provider": provider, "kind": kind, "external_id": external_id}],
        )
    return route


def replace_provider_route(*, tenant_id: int, provider: str, kind: str, external_id: str) -> ProviderRoute | None:
    """Make `external_id` the tenant's only route of this kind (a sender number changes):
    the old ones are released in the same transaction. A blank id releases them all."""
    with transaction.atomic():
        ProviderRoute.objects.filter(tenant_id=tenant_id, provider=provider, kind=kind).exclude(
            external_id=external_id
        ).delete()
        if not external_id:
            return None
        return claim_provider_route(tenant_id=tenant_id, provider=provider, kind=kind, external_id=external_id)


_LOCK_IDENTIFIERS = """
    SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) FROM unnest(%s::text[]) AS key ORDER BY key
"""


def _lock_identifiers(*, provider: str, external_ids: Sequence[str]) -> None:
    """Serialize, until commit, an unrouted event's storage with the claim of a route for one
    of its identifiers (claim_route_and_release_held_events): whichever comes second sees the other."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_IDENTIFIERS, [[f"{provider}:{external_id}" for external_id in external_ids]])


def claim_route_and_release_held_events(*, tenant: Tenant, provider: str, kind: str, external_id: str) -> int:
    """Claim `external_id` for `tenant` (claim_provider_route), and route to it the events
    stored unrouted because they named it before the route existed (a new Stripe account's
    first `account.updated` arrives while we are still recording the account): each gets its
    processing job after commit. Events stored concurrently are either seen here or see the
    route. Call it in the transaction that writes what the handlers need. Returns how many."""
    with transaction.atomic():
        claim_provider_route(tenant_id=tenant.pk, provider=provider, kind=kind, external_id=external_id)
        _lock_identifiers(provider=provider, external_ids=[external_id])
        held = list(
            WebhookEvent.objects.select_for_update()
            .filter(
                provider=provider,
                status=WebhookEvent.Status.UNROUTED,
                tenant__isnull=True,
                route_candidates__contains=[[kind, external_id]],
            )
            .values_list("pk", flat=True)
        )
        if held:
            WebhookEvent.objects.filter(pk__in=held).update(tenant=tenant, status=WebhookEvent.Status.RECEIVED)
        for event_id in held:
            enqueue_after_commit(actor_name=PROCESS_ACTOR, schema_name=tenant.schema_name, event_id=event_id)
    return len(held)


@dataclass(frozen=True)
class RecordedEvent:
    event: WebhookEvent
    created: bool


_INSERT_ONCE = f"""
    INSERT INTO {WebhookEvent._meta.db_table}
        (provider, dedupe_key, tenant_id, status, route_candidates, body, content_type, received_at, attempts,
         last_error)
    VALUES (%s, %s, %s, %s, %s, %s, %s, now(), 0, '')
    ON CONFLICT (provider, dedupe_key) DO NOTHING
    RETURNING id, received_at
"""  # noqa: S608 - the table name is ours, every value is a parameter


def record_webhook_event(
    *, provider: str, dedupe_key: str, route_candidates: Sequence[tuple[str, str]], body: bytes, content_type: str
) -> RecordedEvent:
    """Store a verified event once, routed to the tenant owning the first of its candidates
    (see store_webhook_event)."""
    return store_webhook_event(
        provider=provider,
        dedupe_key=dedupe_key,
        tenant=resolve_route(provider=provider, candidates=route_candidates),
        route_candidates=route_candidates,
        body=body,
        content_type=content_type,
    )


def store_webhook_event(
    *,
    provider: str,
    dedupe_key: str,
    tenant: Tenant | None,
    route_candidates: Sequence[tuple[str, str]],
    body: bytes,
    content_type: str,
) -> RecordedEvent:
    """Store a verified event once, for `tenant` as resolved from its route candidates (None:
    unrouted). A duplicate (retry, concurrent delivery) finds the first row, with its tenant,
    and changes nothing. A routed event gets its processing job in the same transaction, so the
    job runs after commit; an unrouted one is kept for platform admins. The new row is returned
    as written (no second read): webhook answers Vapi waits for pay for every statement."""
    candidates = [[kind, external_id] for kind, external_id in route_candidates]
    with transaction.atomic():
        identifiers = sorted({external_id for _kind, external_id in route_candidates if external_id})
        if tenant is None and identifiers:
            # A route claimed meanwhile: take it, or be seen by the claim's release.
            _lock_identifiers(provider=provider, external_ids=identifiers)
            tenant = resolve_route(provider=provider, candidates=route_candidates)
        status = WebhookEvent.Status.RECEIVED if tenant else WebhookEvent.Status.UNROUTED
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT_ONCE,
                [
                    provider,
                    dedupe_key,
                    tenant.pk if tenant else None,
                    status,
                    json.dumps(candidates),
                    body,
                    content_type[:255],
                ],
            )
            inserted = cursor.fetchone()
        if inserted is None:
            existing = WebhookEvent.objects.select_related("tenant").get(provider=provider, dedupe_key=dedupe_key)
            _name_tenant(existing.tenant)
            return RecordedEvent(event=existing, created=False)
        if tenant is not None:
            enqueue_after_commit(actor_name=PROCESS_ACTOR, schema_name=tenant.schema_name, event_id=inserted[0])
    event = WebhookEvent(
        pk=inserted[0],
        provider=provider,
        dedupe_key=dedupe_key,
        tenant=tenant,
        status=status,
        route_candidates=candidates,
        body=body,
        content_type=content_type[:255],
        received_at=inserted[1],
        attempts=0,
        last_error="",
    )
    event._state.adding = False
    _name_tenant(tenant)
    return RecordedEvent(event=event, created=True)


def _name_tenant(tenant: Tenant | None) -> None:
    """The request's log lines, spans and error reports name the tenant its webhook is for
    (the API host's webhook routes know it only from the event's route)."""
    if tenant is not None:
        tenant_var.set(tenant.schema_name)


def process_webhook_event(*, event_id: int) -> WebhookEvent | None:
    """Run the provider's handler for a stored event in its tenant's schema, in one
    transaction with marking it processed, so a re-delivered job finds it done. A suspended
    tenant's event is kept unprocessed, and so is one of an integration switched off for the
    tenant (its flag). A failure is recorded on the row and re-raised, so the
    job retries. Returns the event (None if it is gone)."""
    connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' database backend
    try:
        with transaction.atomic():
            event = (
                WebhookEvent.objects.select_for_update(of=("self",))
                .select_related("tenant")
                .filter(pk=event_id)
                .first()
            )
            if event is None or event.status in (
                WebhookEvent.Status.PROCESSED,
                WebhookEvent.Status.UNROUTED,
                WebhookEvent.Status.REVIEW,
            ):
                return event
            tenant = event.tenant
            integration = FLAG_OF_PROVIDER.get(event.provider)
            if tenant is None or not tenant.may_run(integration=integration):
                event.last_error = (
                    f"Tenant is {tenant.status if tenant else 'missing'}; stored, not run."
                    if tenant is None or not tenant.is_active
                    else f"The {integration} integration is switched off for this business; stored, not run."
                )
                event.save(update_fields=["last_error"])
                return event
            handler = webhook_handler(event.provider)
            if handler is None:
                raise LookupError(f"No handler is registered for {event.provider!r} events.")
            event.status, event.last_error = WebhookEvent.Status.PROCESSED, ""
            try:
                # The provider is the actor of what its event changes (events it emits name it).
                with transaction.atomic(), tenant_context(tenant), acting_as(event.provider):
                    handler(event)
            except NeedsReview as refusal:
                event.status, event.last_error = WebhookEvent.Status.REVIEW, str(refusal)[:2000]
            event.processed_at = timezone.now()
            event.attempts += 1
            event.save(update_fields=["status", "processed_at", "attempts", "last_error"])
            lag = (event.processed_at - event.received_at).total_seconds()
            transaction.on_commit(lambda: WEBHOOK_LAG.labels(event.provider).observe(lag))
            return event
    except Exception as error:
        WebhookEvent.objects.filter(pk=event_id).update(
            status=WebhookEvent.Status.FAILED,
            attempts=F("attempts") + 1,
            last_error=f"{type(error).__name__}: {error}"[:2000],
        )
        raise


def release_held_webhook_events(*, tenant_id: int) -> int:
    """Queue processing again for a tenant's events still `received`: those its jobs held
    while it was suspended. Runs as a job written in the reactivating transaction, so it reads
    after that commit: an event stored before then is found here, one stored after finds the
    business active when its own job runs. An event queued twice is processed once (its row
    lock and status). Returns how many were queued; none while the tenant is not active."""
    connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' database backend
    with transaction.atomic():
        tenant = Tenant.objects.active().filter(pk=tenant_id).first()
        if tenant is None:
            return 0
        held = list(
            WebhookEvent.objects.filter(tenant_id=tenant_id, status=WebhookEvent.Status.RECEIVED)
            .order_by("id")
            .values_list("pk", flat=True)
        )
        for event_id in held:
            enqueue_after_commit(actor_name=PROCESS_ACTOR, schema_name=tenant.schema_name, event_id=event_id)
    return len(held)


def release_all_held_webhook_events() -> int:
    """`release_held_webhook_events` for every business holding events (a flag's rollout
    changed: any of them may run its events now). Returns how many were queued."""
    connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' database backend
    holding = (
        WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED, tenant__status=Tenant.Status.ACTIVE)
        .order_by("tenant_id")
        .values_list("tenant_id", flat=True)
        .distinct()
    )
    return sum(release_held_webhook_events(tenant_id=tenant_id) for tenant_id in list(holding))


def replay_webhook_event(*, event_id: int) -> WebhookEvent:
    """Process a stored event again from its raw body, without re-verifying anything. An
    unrouted event is routed afresh (its identifier may have been claimed since); one that
    still has no owner stays unrouted. Handler errors propagate to the caller."""
    connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' database backend
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None:
            raise NotFound("Webhook event not found.")
        if event.tenant_id is None:
            tenant = resolve_route(provider=event.provider, candidates=event.route_candidates)
            if tenant is None:
                return event
            event.tenant = tenant
        event.status = WebhookEvent.Status.RECEIVED
        event.save(update_fields=["tenant", "status"])
    process_webhook_event(event_id=event_id)
    event.refresh_from_db()
    return event
