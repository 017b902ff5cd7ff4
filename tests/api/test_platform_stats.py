"""GET /platform/stats answers from the rollups the jobs write, never from tenants' schemas."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shared_apps.outbox.models import OutboxMessage
from shared_apps.stats import services as stats
from shared_apps.webhooks.models import WebhookEvent
from tenant_apps.payments.models import Payment
from tenant_apps.sms.models import Message
from tenant_apps.voice.models import Call
from tests.api.generic import assert_query_count, counted
from tests.api.test_platform import platform_api  # noqa: F401 - fixture
from tests.isolation import assert_refused
from tests.tenant_apps.invoices.factories import sent_invoice


def use_the_business(tenant) -> None:
    """Two texts (3 segments), a 90 s call and a 50.00 card payment in the last days, and a
    text from long before the window."""
    now = timezone.now()
    with tenant.schema():
        for segments in (1, 2):
            Message.objects.create(
                direction="outbound", from_number="+1", to_number="+2", status="sent", segments=segments
            )
        old = Message.objects.create(direction="outbound", from_number="+1", to_number="+2", status="sent", segments=9)
        Message.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=45))
        Call.objects.create(
            direction="outbound", status="ended", started_at=now - timedelta(days=1), duration_seconds=90
        )
        invoice = sent_invoice(tenant.tenant)
        Payment.objects.create(
            invoice=invoice, amount=5000, currency="usd", method="card", provider="stripe", occurred_at=now
        )


def test_the_jobs_roll_usage_up_and_the_dashboard_reads_it(platform_api, tenant_a, tenant_b):  # noqa: F811 - the fixture
    use_the_business(tenant_a)
    WebhookEvent.objects.create(provider="twilio", dedupe_key="s-1", status="processed", body=b"")
    WebhookEvent.objects.create(provider="twilio", dedupe_key="s-2", status="failed", body=b"")
    OutboxMessage.objects.create(actor_name="x", dead_at=timezone.now())

    measured = stats.roll_up_tenant_usage()
    stats.roll_up_platform(queue_depth={"default": 4})
    answer = platform_api.get("/platform/stats", sort="call_minutes", limit=5).json()

    assert measured >= 2
    usage_a = next(row for row in answer["top_usage"] if row["tenant_id"] == tenant_a.tenant.pk)
    assert (usage_a["sms_segments"], usage_a["call_minutes"], usage_a["card_volume"]) == (3, 2, 5000)
    assert usage_a["storage_bytes"] > 0
    assert usage_a["last_active_at"] is not None
    assert answer["top_usage"][0]["tenant_id"] == tenant_a.tenant.pk
    assert answer["tenants_by_status"]["active"] >= 2
    assert answer["active_last_30_days"] >= 2
    assert answer["usage_totals"]["card_volume"] == [{"currency": "usd", "amount": 5000}]
    assert len(answer["signups_per_day"]) == 31
    assert sum(day["count"] for day in answer["signups_per_day"]) >= 2
    assert answer["webhooks"]["twilio"] == {"received": 2, "failed": 1, "failure_rate": 0.5}
    assert answer["queue_depth"] == {"default": 4}
    assert answer["dead_outbox"] == 1


def test_the_dashboard_reads_no_tenant_schema(platform_api, tenant_a):  # noqa: F811 - the fixture
    stats.roll_up_tenant_usage()
    platform_api.get("/platform/stats")

    with CaptureQueriesContext(connection) as few:
        assert platform_api.get("/platform/stats").status_code == 200
    sql = counted(few)

    assert not any(tenant_a.tenant.schema_name in query or "sms_message" in query for query in sql)
    assert_query_count("GET /platform/stats", sql)


def test_a_bad_sort_or_limit_is_400(platform_api):  # noqa: F811 - the fixture
    assert_refused(platform_api.get("/platform/stats", sort="name"), 400)
    assert_refused(platform_api.get("/platform/stats", limit=0), 400)


def test_the_dashboard_is_for_platform_admins_only(api_host, tenant_a):
    assert_refused(api_host.get("/platform/stats"), 401)
    assert_refused(tenant_a.api().get("/platform/stats"), 403)
    assert_refused(tenant_a.api(on_api_host=True).get("/platform/stats"), 403)
