"""The scheduler process: relays the outbox and enqueues periodic jobs."""

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from shared_apps.outbox import services as outbox
from tasks import actors
from tasks.outbox import relay_outbox

logger = logging.getLogger("tasks.scheduler")

# (actor, every N seconds). Periodic jobs compute their own due work from stored state, so a
# missed tick only delays work.
PERIODIC_JOBS = (
    (actors.refill_tenant_pool, 60),
    (actors.purge_idempotency_records, 3600),
    (actors.purge_deleted_tenants, 3600),
    (actors.purge_published_outbox_messages, 3600),
    (actors.purge_event_deliveries, 3600),
    (actors.purge_webhook_deliveries, 3600),
    (actors.purge_audit_events, 24 * 3600),
    (actors.roll_up_tenant_usage, 3600),
    (actors.roll_up_platform, 60),
    (actors.reconcile_sms_sends, 300),
    (actors.reconcile_voice_calls, 300),
    (actors.sweep_abandoned_uploads, 3600),
)
# The check for outbox jobs the broker lost (published, never started).
REPUBLISH = "republish_unstarted_outbox_messages"
# Seconds between passes, and the longest wait after repeated failures (Redis or the
# database away): the process stays up and catches up once they are back.
TICK_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0


class Command(BaseCommand):
    help = "Relay the outbox every second and enqueue periodic jobs."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")

    def handle(self, *args, once: bool = False, **options):
        next_run = {actor.actor_name: 0.0 for actor, _ in PERIODIC_JOBS}
        next_run[REPUBLISH] = 0.0
        failures = 0
        while True:
            # A connection broken by a database restart is dropped here (as Django does around
            # each request), so the next pass reconnects instead of failing forever.
            close_old_connections()
            try:
                self.run_pass(next_run)
                failures = 0
            except Exception:
                failures += 1
                logger.exception("Scheduler pass failed; backing off", extra={"consecutive_failures": failures})
            finally:
                close_old_connections()
            if once:
                return
            time.sleep(min(TICK_SECONDS * 2**failures, MAX_BACKOFF_SECONDS))

    def run_pass(self, next_run: dict[str, float]) -> None:
        """Enqueue the periodic jobs that are due, then relay the outbox. A job whose send
        fails stays due and is sent on a later pass; unsent outbox rows stay in the outbox."""
        now = time.monotonic()
        for actor, every in PERIODIC_JOBS:
            if now >= next_run[actor.actor_name]:
                actor.send()
                next_run[actor.actor_name] = now + every
        if now >= next_run[REPUBLISH]:
            outbox.republish_unstarted_outbox_messages()
            next_run[REPUBLISH] = now + min(settings.OUTBOX_REPUBLISH_AFTER.total_seconds() / 2, 60)
        relay_outbox()
