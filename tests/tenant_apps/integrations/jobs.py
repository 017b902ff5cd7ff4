"""Running the outbound webhook jobs in-process, as the worker would, each in its schema."""

from functools import partial

from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.outbox.models import OutboxMessage
from tenant_apps.integrations import services

JOBS = {
    services.DELIVER_ACTOR: services.attempt_delivery,
    services.SLOW_LANE_ACTOR: partial(services.attempt_delivery, slow_lane=True),
    services.RESEND_ACTOR: services.revive_deliveries,
    services.EMAIL_DISABLED_ACTOR: services.email_endpoint_disabled,
}


def run_webhook_jobs(*, including_later: bool = False) -> list[object]:
    """Run every webhook job due now (with `including_later`, also those scheduled later, as
    if their time had come), until none is left; returns what each returned, in order."""
    schema_before = connection.schema_name
    results: list[object] = []
    try:
        while True:
            rows = OutboxMessage.objects.filter(actor_name__in=JOBS, published_at__isnull=True)
            if not including_later:
                rows = rows.exclude(run_at__gt=timezone.now())
            row = rows.order_by("id").first()
            if row is None:
                return results
            OutboxMessage.objects.filter(pk=row.pk).update(published_at=timezone.now())
            with schema_context(row.schema_name):
                results.append(JOBS[row.actor_name](**row.kwargs))
    finally:
        connection.set_schema(schema_before)
