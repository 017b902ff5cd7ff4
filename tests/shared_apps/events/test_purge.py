import uuid
from datetime import timedelta

from django.utils import timezone

from shared_apps.events.models import EventDelivery
from shared_apps.events.services import DELIVERY_RETENTION, purge_event_deliveries


def _handled(subscriber: str, *, at) -> EventDelivery:
    delivery = EventDelivery.objects.create(
        event_id=uuid.uuid4(), subscriber=subscriber, event_type="invoice.paid", schema_name="t_test"
    )
    EventDelivery.objects.filter(pk=delivery.pk).update(handled_at=at)
    return delivery


def test_delivery_records_older_than_the_retention_are_purged_and_nothing_else(db):
    now = timezone.now()
    _handled("old", at=now - DELIVERY_RETENTION - timedelta(minutes=1))
    _handled("recent", at=now - DELIVERY_RETENTION + timedelta(minutes=1))

    purged = purge_event_deliveries(now=now)

    assert purged == 1
    assert list(EventDelivery.objects.values_list("subscriber", flat=True)) == ["recent"]
