"""Provider webhooks in the public schema: which tenant owns a provider's identifier, and
every event a provider delivered, stored once with its raw body."""

from django.db import models


class ProviderRoute(models.Model):
    """A provider's identifier (a Twilio sender number, later a Stripe account or a Vapi phone
    number) and the tenant that owns it. An identifier belongs to one tenant only."""

    provider = models.CharField(max_length=32)
    kind = models.CharField(max_length=32)
    external_id = models.CharField(max_length=255)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="provider_routes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "external_id"], name="provider_route_unique_external_id")
        ]
        indexes = [models.Index(fields=["tenant", "provider", "kind"], name="provider_route_tenant_kind")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.kind}:{self.external_id} -> tenant {self.tenant_id}"


class WebhookEvent(models.Model):
    """One delivery of one provider event, whatever the number of retries: unique per
    (provider, dedupe key). The raw body is kept so processing can be replayed without the
    provider; the signature is checked before the row exists and never again."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received, not processed yet"
        PROCESSED = "processed", "Processed"
        UNROUTED = "unrouted", "No tenant owns its identifiers"
        FAILED = "failed", "Processing failed"
        REVIEW = "review", "Refused by its handler; kept for platform admins to review"

    provider = models.CharField(max_length=32)
    dedupe_key = models.CharField(max_length=255)
    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_events"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    # The (kind, external_id) pairs that may name the owner, tried in order; kept so a replay
    # can route an event whose identifier was claimed after it arrived.
    route_candidates = models.JSONField(default=list)
    body = models.BinaryField()
    content_type = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "dedupe_key"], name="webhook_event_unique_dedupe_key")
        ]
        indexes = [models.Index(fields=["status", "-id"], name="webhook_event_status")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.dedupe_key} ({self.status})"
