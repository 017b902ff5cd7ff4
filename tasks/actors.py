"""Every actor, by name. Actors take ids (never objects), run in the schema named by the
message, re-fetch what they need and call a service."""

from collections.abc import Callable

import dramatiq

from shared_apps.audit import services as audit
from shared_apps.events import services as events
from shared_apps.events.actors import SCHEDULER, acting_as
from shared_apps.idempotency import services as idempotency
from shared_apps.outbox import services as outbox
from shared_apps.stats import services as stats
from shared_apps.tenants import daily_jobs, provisioning
from shared_apps.tenants import services as tenants
from shared_apps.tenants.every_tenant import run_in_every_active_tenant
from shared_apps.webhooks import services as webhooks
from tasks.broker import (
    SLOW_LANE_QUEUE,
    broker,  # noqa: F401 - configures Dramatiq before actors are declared
    queue_depth,
)
from tenant_apps.appointments import series as appointment_series
from tenant_apps.files import services as files
from tenant_apps.integrations import services as integrations
from tenant_apps.invoices import services as invoices
from tenant_apps.notifications import document_email, dunning, notices, reminders, staff_alerts
from tenant_apps.payments import reconcile as payment_reconcile
from tenant_apps.payments import refunds
from tenant_apps.quotes import services as quotes
from tenant_apps.sms import media as sms_media
from tenant_apps.sms import reconcile
from tenant_apps.sms import services as sms
from tenant_apps.voice import reconcile as voice_reconcile
from tenant_apps.voice import services as voice


@dramatiq.actor(queue_name="default", max_retries=5)
def refill_tenant_pool() -> None:
    """Keep TENANT_POOL_SIZE ready schemas so registration never waits for DDL."""
    provisioning.refill_tenant_pool()


@dramatiq.actor(queue_name="default", max_retries=3)
def purge_deleted_tenants() -> None:
    """Drop the schemas of tenants deleted more than TENANT_DELETION_GRACE_DAYS ago."""
    tenants.purge_deleted_tenants()


@dramatiq.actor(queue_name="default", max_retries=3)
def purge_idempotency_records() -> None:
    """Idempotency-Key answers are replayed for 24 hours, then deleted."""
    idempotency.purge_expired_idempotency_records()


@dramatiq.actor(queue_name="default", max_retries=3)
def purge_published_outbox_messages() -> None:
    """Published outbox rows are kept a week, then deleted."""
    outbox.purge_published_outbox_messages()


@dramatiq.actor(queue_name="default", max_retries=3)
def purge_event_deliveries() -> None:
    """Records of handled domain events are kept a month, then deleted."""
    events.purge_event_deliveries()


@dramatiq.actor(queue_name="default", max_retries=0)
def sweep_abandoned_uploads() -> None:
    """Delete attachments whose upload was never completed within a day (the next run retries)."""
    run_in_every_active_tenant(lambda tenant: files.sweep_abandoned_uploads())


@dramatiq.actor(queue_name="default", max_retries=5)
def deliver_domain_event(event: dict) -> None:
    """Queue one job per subscriber of a domain event."""
    events.fan_out_event(event=event)


@dramatiq.actor(queue_name="default", max_retries=10)
def run_event_subscriber(event: dict, subscriber: str) -> None:
    """One subscriber's reaction to one domain event, at most once; retried alone on failure."""
    events.run_subscriber(event=event, subscriber=subscriber)


@dramatiq.actor(queue_name="default", max_retries=5)
def process_webhook_event(event_id: int) -> None:
    """Run a stored provider event's handler in its tenant's schema (idempotent)."""
    webhooks.process_webhook_event(event_id=event_id)


@dramatiq.actor(queue_name="default", max_retries=5)
def release_held_webhook_events(tenant_id: int) -> None:
    """After a business is reactivated: queue the provider events held while it was suspended."""
    webhooks.release_held_webhook_events(tenant_id=tenant_id)


@dramatiq.actor(queue_name="default", max_retries=5)
def release_all_held_webhook_events() -> None:
    """After a flag's rollout changed: queue the provider events held for any business."""
    webhooks.release_all_held_webhook_events()


@dramatiq.actor(queue_name="default", max_retries=3)
def purge_audit_events() -> None:
    """Delete audit rows past their retention."""
    audit.purge_audit_events()


@dramatiq.actor(queue_name="default", max_retries=0)
def roll_up_tenant_usage() -> None:
    """Measure every active business's usage into the dashboard's public table."""
    stats.roll_up_tenant_usage()


@dramatiq.actor(queue_name="default", max_retries=0)
def roll_up_platform() -> None:
    """Measure provider webhooks and the job queues for the dashboard."""
    stats.roll_up_platform(queue_depth=queue_depth())


@dramatiq.actor(queue_name="default", max_retries=5)
def send_sms(message_id: int, tenant_id: int) -> None:
    """Hand a queued text to Twilio (or the sandbox); never sends one message twice."""
    sms.send_queued_sms(message_id=message_id, tenant_id=tenant_id)


# Each download has its own timeout (MMS_MEDIA_TIMEOUT); the limit bounds ten of them.
@dramatiq.actor(queue_name="default", max_retries=5, time_limit=300_000)
def copy_mms_media(message_id: int) -> None:
    """Copy an inbound MMS's media from Twilio into file storage as the message's attachments."""
    sms_media.copy_inbound_media(message_id=message_id)


@dramatiq.actor(queue_name="default", max_retries=5)
def place_voice_call(call_id: int, tenant_id: int) -> None:
    """Dial a queued call through Vapi (or the sandbox); never dials one call twice."""
    voice.place_queued_call(call_id=call_id, tenant_id=tenant_id)


@dramatiq.actor(queue_name="default", max_retries=0)
def reconcile_sms_sends() -> None:
    """Ask Twilio what became of texts left `sending`, or `sent` for hours without a final
    status (never resends; the next run retries)."""
    reconcile.reconcile_all_tenants()


@dramatiq.actor(queue_name="default", max_retries=0)
def reconcile_voice_calls() -> None:
    """Ask Vapi what became of calls whose dial had no answer (never re-dials; the next run retries)."""
    voice_reconcile.reconcile_all_tenants()


@dramatiq.actor(queue_name="default", max_retries=5)
def send_automatic_sms(tenant_id: int, kind: str, object_id: int, send_key: str) -> None:
    """A booking confirmation or quote/invoice notice, once per send key (quiet hours kept)."""
    notices.send_notice(tenant_id=tenant_id, kind=kind, object_id=object_id, send_key=send_key)


@dramatiq.actor(queue_name="default", max_retries=5)
def email_document(tenant_id: int, document_type: str, document_id: int, version: int) -> None:
    """Mail a sent quote or invoice with its PDF, once per document version."""
    document_email.email_document(
        tenant_id=tenant_id, document_type=document_type, document_id=document_id, version=version
    )


@dramatiq.actor(queue_name="default", max_retries=5)
def email_staff_alert(tenant_id: int, kind: str, object_id: int) -> None:
    """Tell the owners and admins of a customer's online booking or work request."""
    staff_alerts.email_staff_alert(tenant_id=tenant_id, kind=kind, object_id=object_id)


def _run_daily(job: str, tenant_id: int, local_day: str, rule: Callable[..., int]) -> None:
    """Run a daily rule (`rule(tenant=, now=)`) for one tenant and schedule its next run."""
    with acting_as(SCHEDULER):
        daily_jobs.run_daily_job(
            job=job,
            tenant_id=tenant_id,
            local_day=local_day,
            work=lambda tenant, now: rule(now=now, tenant=tenant),
        )


@dramatiq.actor(queue_name="default", max_retries=5)
def expire_quotes(tenant_id: int, local_day: str) -> None:
    """A tenant's daily run (00:05 local): expire quotes whose validity has ended."""
    _run_daily("expire_quotes", tenant_id, local_day, quotes.expire_quotes)


@dramatiq.actor(queue_name="default", max_retries=5)
def mark_overdue_invoices(tenant_id: int, local_day: str) -> None:
    """A tenant's daily run (00:05 local): mark unpaid invoices past their due date OVERDUE."""
    _run_daily("mark_overdue_invoices", tenant_id, local_day, invoices.mark_overdue_invoices)


@dramatiq.actor(queue_name="default", max_retries=5)
def send_appointment_reminder(tenant_id: int, appointment_id: int, hours: int, starts_at: str, due_at: str) -> None:
    """Text one due appointment reminder, at most once (re-reads the appointment first)."""
    reminders.send_appointment_reminder(
        tenant_id=tenant_id, appointment_id=appointment_id, hours=hours, starts_at=starts_at, due_at=due_at
    )


@dramatiq.actor(queue_name="default", max_retries=5)
def send_payment_reminders(tenant_id: int, local_day: str) -> None:
    """A tenant's daily run (00:05 local): queue the dunning texts of unpaid invoices past due."""
    _run_daily("send_payment_reminders", tenant_id, local_day, dunning.schedule_payment_reminders)


@dramatiq.actor(queue_name="default", max_retries=5)
def reconcile_stripe_payments(tenant_id: int, local_day: str) -> None:
    """A tenant's nightly run: record succeeded Stripe intents the ledger lacks."""
    _run_daily("reconcile_stripe_payments", tenant_id, local_day, payment_reconcile.reconcile_daily)


@dramatiq.actor(queue_name="default", max_retries=5)
def materialise_appointment_series(tenant_id: int, local_day: str) -> None:
    """A tenant's daily run (00:05 local): book recurring visits up to the horizon, retry conflicts."""
    _run_daily("materialise_appointment_series", tenant_id, local_day, appointment_series.materialise_series)


@dramatiq.actor(queue_name="default", max_retries=5)
def send_payment_follow_up(tenant_id: int, kind: str, invoice_id: int, send_key: str) -> None:
    """A text with the pay link after a declined card or at a dunning step, once per key."""
    dunning.send_payment_follow_up(tenant_id=tenant_id, kind=kind, invoice_id=invoice_id, send_key=send_key)


@dramatiq.actor(queue_name="default", max_retries=10, min_backoff=30_000)
def submit_card_refund(refund_id: int) -> None:
    """Ask Stripe again for a refund it did not accept (same Idempotency-Key)."""
    refunds.submit_card_refund(refund_id=refund_id)


# Outbound webhooks have their own queue, so deliveries to slow endpoints never wait behind, or
# hold up, the other jobs. Retries follow the delivery's own schedule (integrations.services),
# so Dramatiq retries only a job that failed before recording its attempt.
@dramatiq.actor(queue_name="webhooks", max_retries=3)
def deliver_webhook(delivery_id: int, attempt: int, manual: bool = False, postponed: int = 0) -> None:
    """One attempt of a webhook delivery to a business's endpoint (signed, SSRF-guarded)."""
    integrations.attempt_delivery(delivery_id=delivery_id, attempt=attempt, manual=manual, postponed=postponed)


# The slow lane: attempts to endpoints that are failing or slow, on a queue served by worker
# processes of their own (`--queues webhooks-slow`, few threads), so they never take a thread
# from deliveries to healthy endpoints.
@dramatiq.actor(queue_name=SLOW_LANE_QUEUE, max_retries=3)
def deliver_webhook_slow_lane(delivery_id: int, attempt: int, manual: bool = False, postponed: int = 0) -> None:
    """An attempt of a webhook delivery to an endpoint that is failing or slow."""
    integrations.attempt_delivery(
        delivery_id=delivery_id, attempt=attempt, manual=manual, postponed=postponed, slow_lane=True
    )


@dramatiq.actor(queue_name="webhooks", max_retries=5)
def resend_webhook_deliveries(endpoint_id: int, since: str, before_id: int) -> None:
    """Send again an endpoint's deliveries made since a time (asked for through the API)."""
    integrations.revive_deliveries(endpoint_id=endpoint_id, since=since, before_id=before_id)


@dramatiq.actor(queue_name="default", max_retries=3)
def purge_webhook_deliveries() -> None:
    """Each business's webhook delivery log is kept a month, then deleted."""
    run_in_every_active_tenant(lambda tenant: integrations.purge_old_deliveries())


@dramatiq.actor(queue_name="default", max_retries=5)
def email_webhook_endpoint_disabled(endpoint_id: int) -> None:
    """Tell a business's owners that a failing webhook endpoint was disabled."""
    integrations.email_endpoint_disabled(endpoint_id=endpoint_id)
