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
        indexes = [models.Index(fields=["last_active_at"], name="tenant_usage_last_active")]

    def __str__(self) -> str:
        return f"usage of tenant {self.tenant_id} at {self.computed_at}"


class PlatformSnapshot(models.Model):
    """What the platform-wide job measured last (one row): provider webhooks over the last
    day, per provider `{received, failed, failure_rate}`, and the job queues' depth in Redis."""

    computed_at = models.DateTimeField()
    webhooks = models.JSONField(default=dict)
    queue_depth = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"platform snapshot at {self.computed_at}"
