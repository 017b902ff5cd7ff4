"""The platform dashboard's rollups: what jobs measured, so that a request reads one public
table instead of every tenant's schema."""

from django.db import models


class TenantUsage(models.Model):
    """One business's usage over the USAGE_WINDOW ending at `computed_at` (texts' segments,
    call seconds, card volume in its currency's minor units) and its schema's size now."""

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, primary_key=True, related_name="+")
    computed_at = models.DateTimeField()
    sms_segments = models.BigIntegerField(default=0)
    call_seconds = models.BigIntegerField(default=0)
    card_volume = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    storage_bytes = models.BigIntegerField(default=0)
    # The last time a member signed in or refreshed a session; null: never in the window.
    last_active_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The dashboard's "biggest users by ..." reads the first rows of one of these.
        indexes = [
            models.Index(fields=["-sms_segments", "tenant"], name="tenant_usage_by_sms"),
            models.Index(fields=["-call_seconds", "tenant"], name="tenant_usage_by_calls"),
            models.Index(fields=["-card_volume", "tenant"], name="tenant_usage_by_card"),
            models.Index(fields=["-storage_bytes", "tenant"], name="tenant_usage_by_storage"),
        ]

    def __str__(self) -> str:
        return f"usage of tenant {self.tenant_id} at {self.computed_at}"


class PlatformSnapshot(models.Model):
    """What the platform-wide job measured last (one row, rewritten every minute): businesses
    by status, sign-ups per UTC day over the usage window, businesses active in it, usage
    totals (from the TenantUsage rows), provider webhooks over the last day per provider
    `{received, failed, failure_rate}`, and the job queues' depth in Redis."""

    computed_at = models.DateTimeField()
    tenants_by_status = models.JSONField(default=dict)
    signups_per_day = models.JSONField(default=list)
    active_tenants = models.IntegerField(default=0)
    usage_totals = models.JSONField(default=dict)
    webhooks = models.JSONField(default=dict)
    queue_depth = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"platform snapshot at {self.computed_at}"
