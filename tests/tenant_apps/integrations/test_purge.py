"""The delivery log keeps a month of finished deliveries; the hourly purge deletes older ones."""

import uuid
from datetime import timedelta

from django.utils import timezone

from tenant_apps.integrations import services
from tenant_apps.integrations.models import WebhookAttempt, WebhookDelivery


def test_finished_deliveries_older_than_the_retention_are_purged(tenant_a):
    now = timezone.now()
    with tenant_a.schema():
        endpoint, _ = services.create_endpoint(url="https://127.0.0.1/x", event_types=["invoice.paid"])
        kept_recent, old_done, old_pending = (
            services._new_delivery(endpoint=endpoint, event_id=uuid.uuid4(), event_type="invoice.paid", body="{}")
            for _ in range(3)
        )
        WebhookAttempt.objects.create(
            delivery=old_done, attempted_at=now, latency_ms=5, succeeded=True, status_code=200
        )
        WebhookDelivery.objects.filter(pk=old_done.pk).update(status="succeeded")
        WebhookDelivery.objects.filter(pk__in=[old_done.pk, old_pending.pk]).update(
            created_at=now - services.DELIVERY_RETENTION - timedelta(minutes=1)
        )

        purged = services.purge_old_deliveries(now=now)

        assert purged == 1
        assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {kept_recent.pk, old_pending.pk}
        assert not WebhookAttempt.objects.exists()
