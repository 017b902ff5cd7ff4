"""Customer links: what lets a customer open their hub without an account (tenant schema)."""

from django.db import models


class CustomerLink(models.Model):
    """A link staff made for one customer. Only the SHA-256 of its token is kept: the token
    itself is in the answer to the staff member who made it and in the text or email that
    carried it, nowhere else. A link works on its business's host until `expires_at`, unless
    staff revoke it first."""

    class Channel(models.TextChoices):
        NONE = "none", "Not sent (handed over by staff)"
        SMS = "sms", "Text"
        EMAIL = "email", "Email"

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="portal_links")
    token_hash = models.CharField(max_length=64, unique=True)
    sent_via = models.CharField(max_length=8, choices=Channel.choices, default=Channel.NONE)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.BigIntegerField(null=True, blank=True, help_text="User id (public schema)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["customer", "created_at"], name="portal_link_customer_created")]

    def __str__(self) -> str:
        return f"link #{self.pk} of customer {self.customer_id}"
