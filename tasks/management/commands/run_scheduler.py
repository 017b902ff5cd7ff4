"""The scheduler process: relays the outbox and enqueues periodic jobs."""

import logging
import time

from django.core.management.base import BaseCommand

from tasks import actors
from tasks.outbox import relay_outbox

logger = logging.getLogger("tasks.scheduler")

# (actor, every N seconds). Periodic jobs compute their own due work from stored state, so a
# missed tick only delays work.
PERIODIC_JOBS = ((actors.refill_tenant_pool, 60), (actors.purge_idempotency_records, 3600))


class Command(BaseCommand):
    help = "Relay the outbox every second and enqueue periodic jobs."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")

    def handle(self, *args, once: bool = False, **options):
        next_run = {actor.actor_name: 0.0 for actor, _ in PERIODIC_JOBS}
        while True:
            now = time.monotonic()
            for actor, every in PERIODIC_JOBS:
                if now >= next_run[actor.actor_name]:
                    actor.send()
                    next_run[actor.actor_name] = now + every
            try:
                relay_outbox()
            except Exception:
                logger.exception("Outbox relay failed; retrying")
            if once:
                return
            time.sleep(1)
