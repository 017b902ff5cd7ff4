"""Outbound webhooks: a business's endpoints, and delivering its domain events to them to the
Standard Webhooks specification (docs/webhooks.md).

Every event an endpoint chose becomes one delivery row (stable `webhook-id`) and one
`deliver_webhook` job, written in the event subscriber's transaction. Each attempt is its own
job: it takes one of the endpoint's concurrency slots (a busy endpoint's attempt waits, without
holding a worker), claims the attempt, POSTs through the guarded gateway and records what came
back. Attempts to an endpoint that is failing or slow run in the slow lane (their own queue and
worker threads) until it answers again, so it never takes a healthy endpoint's worker. A failed
attempt is retried on RETRY_DELAYS (with jitter); an endpoint that has failed every attempt for
WEBHOOK_DISABLE_AFTER is disabled and its owners emailed. Delivery is at least once, in no
particular order."""

import json
import logging
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from shared_apps.accounts.models import Membership
from shared_apps.audit import services as audit
from shared_apps.errors import Conflict, StaleVersion, ValidationFailed
from shared_apps.events.catalogue import EVENT_TYPES
from shared_apps.events.services import DomainEvent
from shared_apps.flags import services as flags
from shared_apps.flags.catalogue import OUTBOUND_WEBHOOKS
from shared_apps.outbox.services import enqueue_after_commit
from shared_apps.tenants.models import Tenant
from shared_apps.tenants.queries import current_tenant_id
from tenant_apps.integrations import endpoint_secrets, gateway, limits, queries, signing
from tenant_apps.integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger("integrations.webhooks")

DELIVER_ACTOR = "deliver_webhook"
SLOW_LANE_ACTOR = "deliver_webhook_slow_lane"
RESEND_ACTOR = "resend_webhook_deliveries"
EMAIL_DISABLED_ACTOR = "email_webhook_endpoint_disabled"
TEST_EVENT_TYPE = "webhook.test"
# Waits after failed attempts 1, 2, ...: the Standard Webhooks schedule, its 10 h step repeated
# to cover about three days; then the delivery is given up (a re-send can still revive it).
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    *(timedelta(hours=10),) * 6,
)
# Each wait is stretched or shrunk by up to this fraction, so the retries of many deliveries
# that failed together (an endpoint back from an outage) do not arrive together.
JITTER = 0.2
# An attempt that finds its endpoint's slots taken waits BUSY_WAIT, doubling each time it finds
# them taken again, up to BUSY_WAIT_MAX. When the endpoint is slow (an attempt in flight for
# SLOW_AFTER seconds) or failing it waits at least BUSY_WAIT_MAX, doubling up to SLOW_WAIT_MAX,
# so a hanging endpoint's backlog is not asked again and again (each asking costs a job) while
# its slots wait out their timeouts.
BUSY_WAIT = timedelta(milliseconds=500)
BUSY_WAIT_MAX = timedelta(seconds=30)
SLOW_AFTER = 2.0
SLOW_WAIT_MAX = timedelta(minutes=8)
# In the slow lane an endpoint has one attempt in flight at a time, so one hanging endpoint
# holds one of the lane's few threads and other failing endpoints still get theirs.
SLOW_LANE_CONCURRENCY = 1
# The largest body sent (payloads carry ids and a few facts; this bounds a future mistake).
MAX_BODY_BYTES = 64 * 1024
MAX_EVENT_TYPES = len(EVENT_TYPES)
RESEND_BATCH = 500
# The delivery log keeps a month (far past the last retry), then the hourly purge deletes it.
DELIVERY_RETENTION = timedelta(days=30)
_random = random.SystemRandom()


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": field, "message": message}])


def _check_url(url: str) -> str:
    try:
        gateway.check_target(url)
    except gateway.TargetRefused as refused:
        raise _invalid("url", str(refused)) from None
    return url


def _check_event_types(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise _invalid("event_types", f"Unknown event types: {', '.join(unknown)} (see GET /webhooks/event-types).")
    if not event_types:
        raise _invalid("event_types", "Choose at least one event type.")
    return sorted(set(event_types))


def create_endpoint(
    *, url: str, event_types: list[str], description: str = "", enabled: bool = True
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned here only; stored encrypted)."""
    secret = endpoint_secrets.new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            url=_check_url(url),
            description=description,
            event_types=_check_event_types(event_types),
            enabled=enabled,
            secret_encrypted=endpoint_secrets.encrypt(secret),
        )
        audit.record(
            tenant_id=current_tenant_id(),
            action="webhook_endpoint.created",
            target=f"webhook_endpoint:{endpoint.pk}",
            details={"url": endpoint.url, "event_types": endpoint.event_types, "enabled": endpoint.enabled},
        )
    return endpoint, secret


def update_endpoint(*, endpoint_id: int, changes: dict[str, Any], version: int) -> WebhookEndpoint:
    """Change an endpoint (StaleVersion when `version` is not the current one). Enabling a
    disabled endpoint starts its failure count afresh."""
    # Checked before the row is locked: resolving the URL's host may take a moment.
    if "url" in changes:
        changes["url"] = _check_url(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = _check_event_types(changes["event_types"])
    with transaction.atomic():
        endpoint = queries.get_endpoint_for_update(endpoint_id=endpoint_id)
        if version != endpoint.version:
            raise StaleVersion(current_version=endpoint.version)
        before = {field: getattr(endpoint, field) for field in changes}
        if changes.get("enabled") and not endpoint.enabled:
            changes.update(failing_since=None, disabled_at=None, disabled_reason="")
        changed = audit.changed_fields(before=before, after={field: changes[field] for field in before})
        if changed:
            audit.record(
                tenant_id=current_tenant_id(),
                action="webhook_endpoint.updated",
                target=f"webhook_endpoint:{endpoint.pk}",
                details={"changed": changed},
            )
        for field, value in changes.items():
            setattr(endpoint, field, value)
        endpoint.version += 1
        endpoint.save(update_fields=[*changes, "version", "updated_at"])
    return endpoint


def delete_endpoint(*, endpoint_id: int) -> None:
    """Remove an endpoint with its delivery log; its pending attempts find nothing to do."""
    with transaction.atomic():
        endpoint = queries.get_endpoint(endpoint_id=endpoint_id)
        audit.record(
            tenant_id=current_tenant_id(),
            action="webhook_endpoint.deleted",
            target=f"webhook_endpoint:{endpoint.pk}",
            details={"url": endpoint.url},
        )
        endpoint.delete()


def rotate_endpoint_secret(*, endpoint_id: int, now: datetime | None = None) -> tuple[WebhookEndpoint, str]:
    """A new signing secret (returned here only). The current one keeps signing beside it for
    WEBHOOK_SECRET_OVERLAP, so receivers can switch without losing a delivery."""
    now = now or timezone.now()
    secret = endpoint_secrets.new_secret()
    with transaction.atomic():
        endpoint = queries.get_endpoint_for_update(endpoint_id=endpoint_id)
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_expires_at = now + settings.WEBHOOK_SECRET_OVERLAP
        endpoint.secret_encrypted = endpoint_secrets.encrypt(secret)
        endpoint.version += 1
        endpoint.save(
            update_fields=[
                "previous_secret_encrypted",
                "previous_secret_expires_at",
                "secret_encrypted",
                "version",
                "updated_at",
            ]
        )
        audit.record(
            tenant_id=current_tenant_id(),
            action="webhook_endpoint.secret_rotated",
            target=f"webhook_endpoint:{endpoint.pk}",
        )
    return endpoint, secret


def reencrypt_endpoint_secrets() -> int:
    """Encrypt the business's endpoint secrets again with the first of WEBHOOK_SECRET_KEYS (key
    rotation, `manage.py rotate_webhook_secret_keys`). Returns how many endpoints there are."""
    with transaction.atomic():
        endpoints = list(WebhookEndpoint.objects.select_for_update().order_by("pk"))
        for endpoint in endpoints:
            endpoint.secret_encrypted = endpoint_secrets.reencrypt(endpoint.secret_encrypted)
            if endpoint.previous_secret_encrypted:
                endpoint.previous_secret_encrypted = endpoint_secrets.reencrypt(endpoint.previous_secret_encrypted)
            endpoint.save(update_fields=["secret_encrypted", "previous_secret_encrypted"])
    return len(endpoints)


def signing_secrets(*, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during its overlap."""
    secrets = [endpoint_secrets.decrypt(endpoint.secret_encrypted)]
    expires_at = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires_at is not None and now < expires_at:
        secrets.append(endpoint_secrets.decrypt(endpoint.previous_secret_encrypted))
    return secrets


def message_body(*, event_type: str, occurred_at: datetime, data: dict[str, Any]) -> str:
    """The Standard Webhooks body: `{type, timestamp, data}`."""
    return json.dumps(
        {"type": event_type, "timestamp": occurred_at.isoformat().replace("+00:00", "Z"), "data": data},
        separators=(",", ":"),
    )


def _new_delivery(*, endpoint: WebhookEndpoint, event_id: uuid.UUID, event_type: str, body: str) -> WebhookDelivery:
    """The delivery row and its first attempt's job (caller's transaction). A body over
    MAX_BODY_BYTES is recorded as failed, never sent."""
    too_big = len(body.encode()) > MAX_BODY_BYTES
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id=f"msg_{uuid.uuid4().hex}",
        event_id=event_id,
        event_type=event_type,
        body="" if too_big else body,
        status=WebhookDelivery.Status.FAILED if too_big else WebhookDelivery.Status.PENDING,
        last_error=f"The body is larger than {MAX_BODY_BYTES} bytes." if too_big else "",
    )
    if not too_big:
        _queue_attempt(delivery=delivery, attempt=0, slow_lane=endpoint.failing_since is not None)
    return delivery


def _queue_attempt(
    *,
    delivery: WebhookDelivery,
    attempt: int,
    slow_lane: bool,
    run_at: datetime | None = None,
    manual: bool = False,
    postponed: int = 0,
    dedupe: bool = False,
) -> None:
    schema_name = connection.schema_name  # type: ignore[attr-defined]  # django-tenants' database backend
    enqueue_after_commit(
        actor_name=SLOW_LANE_ACTOR if slow_lane else DELIVER_ACTOR,
        schema_name=schema_name,
        run_at=run_at,
        dedupe_key=f"webhook:{schema_name}:{delivery.pk}:{attempt}" if dedupe else None,
        delivery_id=delivery.pk,
        attempt=attempt,
        manual=manual,
        postponed=postponed,
    )


def queue_event_deliveries(*, event: DomainEvent) -> int:
    """One delivery per enabled endpoint that chose the event's type (in the event
    subscriber's transaction, which runs once per event). None while outbound webhooks are
    switched off for the business (its flag): events of that time are not delivered later.
    Returns how many."""
    if not _switched_on():
        return 0
    endpoints = list(WebhookEndpoint.objects.filter(enabled=True, event_types__contains=[event.type]))
    if not endpoints:
        return 0
    body = message_body(
        event_type=event.type, occurred_at=event.occurred_at, data=event.payload.model_dump(mode="json")
    )
    for endpoint in endpoints:
        _new_delivery(endpoint=endpoint, event_id=event.id, event_type=event.type, body=body)
    return len(endpoints)


def send_test_message(*, endpoint_id: int, now: datetime | None = None) -> WebhookDelivery:
    """A `webhook.test` delivery to the endpoint, whatever types it chose and even when it is
    disabled (a ping is how its owner checks it works again). 409 while outbound webhooks
    are switched off for the business."""
    _require_switched_on()
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = queries.get_endpoint(endpoint_id=endpoint_id)
        body = message_body(event_type=TEST_EVENT_TYPE, occurred_at=now, data={"endpoint_id": endpoint.pk})
        delivery = _new_delivery(endpoint=endpoint, event_id=uuid.uuid4(), event_type=TEST_EVENT_TYPE, body=body)
    return delivery


def _revive(deliveries: list[WebhookDelivery], *, endpoint: WebhookEndpoint) -> None:
    """Queue a manual attempt of each of the endpoint's deliveries now, with its `webhook-id`
    and body unchanged (caller's transaction). A retry still scheduled finds the attempt taken
    and does nothing."""
    WebhookDelivery.objects.filter(pk__in=[delivery.pk for delivery in deliveries]).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=None
    )
    for delivery in deliveries:
        _queue_attempt(
            delivery=delivery,
            attempt=delivery.attempt_count,
            slow_lane=endpoint.failing_since is not None,
            manual=True,
        )


def _switched_on() -> bool:
    """Whether the business's outbound webhooks are on (its outbound_webhooks flag)."""
    return flags.is_enabled(OUTBOUND_WEBHOOKS, tenant_id=current_tenant_id())


def _require_switched_on() -> None:
    flags.require_enabled(OUTBOUND_WEBHOOKS, tenant_id=current_tenant_id())


def _require_enabled(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    _require_switched_on()
    if not endpoint.enabled:
        raise Conflict(
            "The endpoint is disabled: enable it (PATCH with enabled true) before re-sending.",
            code="endpoint_disabled",
        )
    return endpoint


def resend_delivery(*, endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again now (same `webhook-id`), whatever became of it."""
    with transaction.atomic():
        delivery = queries.get_delivery(endpoint_id=endpoint_id, delivery_id=delivery_id)
        _require_enabled(delivery.endpoint)
        if not delivery.body:
            raise _invalid("delivery_id", delivery.last_error or "This delivery has nothing to send.")
        _revive([delivery], endpoint=delivery.endpoint)
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.next_attempt_at = None
    return delivery


def resend_deliveries_since(*, endpoint_id: int, since: datetime) -> int:
    """Queue a job that sends again every delivery of the endpoint made since `since` (same
    `webhook-id`s). Returns how many there are."""
    with transaction.atomic():
        endpoint = _require_enabled(queries.get_endpoint(endpoint_id=endpoint_id))
        count = endpoint.deliveries.filter(created_at__gte=since).exclude(body="").count()
        if count:
            enqueue_after_commit(
                actor_name=RESEND_ACTOR,
                schema_name=connection.schema_name,  # type: ignore[attr-defined]  # django-tenants' database backend
                endpoint_id=endpoint.pk,
                since=since.isoformat(),
                before_id=endpoint.deliveries.order_by("-id").values_list("pk", flat=True).first(),
            )
    return count


def revive_deliveries(*, endpoint_id: int, since: str, before_id: int) -> int:
    """The job of resend_deliveries_since: the deliveries made since `since` up to `before_id`
    (the newest when it was asked), a batch per transaction. Returns how many were queued."""
    queued = 0
    after_id = 0
    endpoint = queries.get_endpoint(endpoint_id=endpoint_id)
    while True:
        with transaction.atomic():
            batch = list(
                WebhookDelivery.objects.filter(
                    endpoint_id=endpoint_id, created_at__gte=since, pk__gt=after_id, pk__lte=before_id
                )
                .exclude(body="")
                .order_by("pk")[:RESEND_BATCH]
            )
            if not batch:
                return queued
            _revive(batch, endpoint=endpoint)
        queued += len(batch)
        after_id = batch[-1].pk


def _jittered(delay: timedelta) -> timedelta:
    return delay * _random.uniform(1 - JITTER, 1 + JITTER)


def attempt_delivery(
    *,
    delivery_id: int,
    attempt: int,
    manual: bool = False,
    postponed: int = 0,
    slow_lane: bool = False,
    now: datetime | None = None,
) -> str:
    """One attempt of a delivery (the `deliver_webhook` job, or `deliver_webhook_slow_lane` with
    `slow_lane`). `attempt` is how many attempts the delivery had when this one was queued: a
    job whose attempt was taken by another (a re-send racing a retry) does nothing. An attempt
    in the wrong lane moves: to the slow lane when the endpoint is failing (`failing_since`) or
    slow (an attempt in flight for SLOW_AFTER), back when it is neither. Returns what happened:
    `stale`, `moved` (queued in the other lane), `busy` (queued again a little later),
    `disabled`, `switched_off` (its flag), `succeeded`, `retrying` or `failed`."""
    schema_name = connection.schema_name  # type: ignore[attr-defined]  # django-tenants' database backend
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING or delivery.attempt_count != attempt:
        return "stale"
    endpoint = delivery.endpoint
    current = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, attempt_count=attempt
    )
    if not endpoint.enabled and delivery.event_type != TEST_EVENT_TYPE:
        current.update(status=WebhookDelivery.Status.FAILED, last_error="The endpoint is disabled.")
        return "disabled"
    if not _switched_on():
        current.update(
            status=WebhookDelivery.Status.FAILED, last_error="Outbound webhooks are switched off for this business."
        )
        return "switched_off"
    limit = SLOW_LANE_CONCURRENCY if slow_lane else settings.WEBHOOK_ENDPOINT_CONCURRENCY
    with limits.endpoint_slot(schema_name=schema_name, endpoint_id=endpoint.pk, limit=limit) as slot:
        slow = endpoint.failing_since is not None or slot.oldest_in_flight >= SLOW_AFTER
        if slow != slow_lane:
            with transaction.atomic():
                _queue_attempt(delivery=delivery, attempt=attempt, slow_lane=slow, manual=manual, postponed=postponed)
            return "moved"
        if not slot.taken:
            doubling = 2 ** min(postponed, 10)  # the caps are reached well before; no overflow
            wait = min(BUSY_WAIT_MAX * doubling, SLOW_WAIT_MAX) if slow else min(BUSY_WAIT * doubling, BUSY_WAIT_MAX)
            with transaction.atomic():
                _queue_attempt(
                    delivery=delivery,
                    attempt=attempt,
                    slow_lane=slow_lane,
                    run_at=timezone.now() + _jittered(wait),
                    manual=manual,
                    postponed=postponed + 1,
                )
            return "busy"
        if not current.update(attempt_count=F("attempt_count") + 1, next_attempt_at=None):
            return "stale"
        attempted_at = now or timezone.now()
        headers = signing.signed_headers(
            secrets=signing_secrets(endpoint=endpoint, now=attempted_at),
            message_id=delivery.message_id,
            timestamp=int(attempted_at.timestamp()),
            body=delivery.body,
        )
        try:
            answer = gateway.post(
                url=endpoint.url, body=delivery.body.encode(), headers=headers, timeout=settings.WEBHOOK_TIMEOUT
            )
        except gateway.TargetRefused as refused:
            answer = gateway.Answer(status_code=None, latency_ms=0, excerpt="", error=str(refused))
    return _record_attempt(
        delivery=delivery, attempt=attempt + 1, answer=answer, attempted_at=attempted_at, manual=manual
    )


def _answer_error(answer: gateway.Answer) -> str:
    if answer.status_code is None:
        return answer.error
    if 300 <= answer.status_code < 400:
        return f"Answered {answer.status_code} (redirects are not followed)."
    return f"Answered {answer.status_code}."


def _record_attempt(
    *, delivery: WebhookDelivery, attempt: int, answer: gateway.Answer, attempted_at: datetime, manual: bool
) -> str:
    """Record attempt number `attempt` and decide what follows: done, a retry later, or given
    up; a failure may disable the endpoint."""
    endpoint = delivery.endpoint
    error = "" if answer.succeeded else _answer_error(answer)[:300]
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            attempted_at=attempted_at,
            status_code=answer.status_code,
            latency_ms=answer.latency_ms,
            response_excerpt=answer.excerpt[:1000],
            error=error,
            succeeded=answer.succeeded,
            manual=manual,
        )
        deliveries = WebhookDelivery.objects.filter(pk=delivery.pk)
        endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
        if answer.succeeded:
            deliveries.update(status=WebhookDelivery.Status.SUCCEEDED, succeeded_at=attempted_at, last_error="")
            endpoints.filter(failing_since__isnull=False).update(failing_since=None)
            return "succeeded"
        endpoints.filter(failing_since__isnull=True).update(failing_since=attempted_at)
        failing_since = endpoint.failing_since or attempted_at
        if endpoint.enabled and attempted_at - failing_since >= settings.WEBHOOK_DISABLE_AFTER:
            _disable(endpoint=endpoint, now=attempted_at)
        if attempt > len(RETRY_DELAYS) or delivery.event_type == TEST_EVENT_TYPE:
            deliveries.update(status=WebhookDelivery.Status.FAILED, last_error=error)
            return "failed"
        retry_at = attempted_at + _jittered(RETRY_DELAYS[attempt - 1])
        deliveries.update(next_attempt_at=retry_at, last_error=error)
        _queue_attempt(delivery=delivery, attempt=attempt, slow_lane=True, run_at=retry_at, dedupe=True)
    return "retrying"


def _disable(*, endpoint: WebhookEndpoint, now: datetime) -> None:
    """Disable a failing endpoint and queue the email to its owners (caller's transaction)."""
    disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False,
        disabled_at=now,
        disabled_reason=f"Every attempt failed for {settings.WEBHOOK_DISABLE_AFTER} or more.",
        version=F("version") + 1,
    )
    if disabled:
        logger.warning("Webhook endpoint %s disabled after failing since %s", endpoint.pk, endpoint.failing_since)
        schema_name = connection.schema_name  # type: ignore[attr-defined]  # django-tenants' database backend
        enqueue_after_commit(
            actor_name=EMAIL_DISABLED_ACTOR,
            schema_name=schema_name,
            dedupe_key=f"webhook-disabled:{schema_name}:{endpoint.pk}:{now.isoformat()}",
            endpoint_id=endpoint.pk,
        )


def email_endpoint_disabled(*, endpoint_id: int) -> int:
    """Tell the business's owners that an endpoint was disabled and how to re-enable it.
    Returns how many were mailed (none when it was re-enabled or deleted meanwhile)."""
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=False, failing_since__isnull=False).first()
    if endpoint is None:
        return 0
    schema_name = connection.schema_name  # type: ignore[attr-defined]  # django-tenants' database backend
    tenant = Tenant.objects.get(schema_name=schema_name)
    owners = list(
        Membership.objects.filter(tenant=tenant, role=Membership.Role.OWNER).values_list("user__email", flat=True)
    )
    if owners:
        body = (
            f"Hello,\n\nThe webhook endpoint {endpoint.url} of {tenant.name} failed every delivery since "
            f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC and has been disabled; no events are sent to it now.\n\n"
            f"When it works again, enable it (PATCH /api/v1/webhooks/endpoints/{endpoint.pk} with "
            '"enabled": true) and re-send what it missed (POST .../resend with "since").\n'
        )
        send_mail(f"{tenant.name}: webhook endpoint disabled", body, settings.DEFAULT_FROM_EMAIL, owners)
    return len(owners)


def purge_old_deliveries(*, now: datetime | None = None) -> int:
    """Delete the business's finished deliveries (with their attempts) older than
    DELIVERY_RETENTION, so the log holds the recent past. Returns how many deliveries went."""
    cutoff = (now or timezone.now()) - DELIVERY_RETENTION
    old = WebhookDelivery.objects.filter(created_at__lt=cutoff).exclude(status=WebhookDelivery.Status.PENDING)
    _, by_model = old.delete()
    return by_model.get(WebhookDelivery._meta.label, 0)
