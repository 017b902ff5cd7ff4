"""The scheduler process: relays the outbox and enqueues periodic jobs."""

import logging
import time

from django.core.management.base import BaseCommand

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
    (actors.reconcile_sms_sends, 300),
    (actors.reconcile_voice_calls, 300),
)
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
        failures = 0
        while True:
            try:
                self.run_pass(next_run)
                failures = 0
            except Exception:
                failures += 1
                logger.exception("Scheduler pass failed; backing off", extra={"consecutive_failures": failures})
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
        relay_outbox()
