"""Quotes and their line items (tenant schema)."""

from datetime import UTC
from typing import Any

from django.db import models
from django.db.models import Q

from shared_apps.tenants.sections import SettingsRow
from tenant_apps.billing.models import Document, DocumentItem, DocumentType


class Quote(Document):
    """An offer to a customer. Numbered when it leaves DRAFT, frozen once decided; an
    ACCEPTED quote converts to exactly one invoice (`Invoice.quote` is unique)."""

    class Status(models.TextChoices):
        DRAFT = "DRAFT", "Draft"
        SENT = "SENT", "Sent"
        ACCEPTED = "ACCEPTED", "Accepted"
        REJECTED = "REJECTED", "Rejected"
        EXPIRED = "EXPIRED", "Expired"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    valid_until = models.DateField(help_text="Last local day (tenant's zone) the quote can be accepted")
    decided_at = models.DateTimeField(null=True, blank=True)
    # How the customer answered through their hub link (blank when staff recorded the answer):
    # the name they typed, where from and with what, printed on the quote and its timeline.
    decided_by_name = models.CharField(max_length=200, blank=True)
    decided_from_ip = models.GenericIPAddressField(null=True, blank=True)
    decided_user_agent = models.CharField(max_length=500, blank=True)
    decline_reason = models.TextField(blank=True)

    document_type = DocumentType.QUOTE
    date_field = "valid_until"
    instead_of_deleting = "reject it instead"
    allows_optional_items = True

    class Meta(Document.Meta):
        constraints = [
            models.CheckConstraint(
                condition=Q(status="DRAFT", number__isnull=True) | (~Q(status="DRAFT") & Q(number__isnull=False)),
                name="quotes_quote_numbered_unless_draft",
            ),
        ]

    @classmethod
    def number_prefix(cls) -> str:
        return QuoteSettings.load().quote_prefix

    def pdf_fields(self) -> dict[str, Any]:
        return {"valid_until": self.valid_until, "decision": self.customer_decision()}

    def customer_decision(self) -> str | None:
        """The customer's answer as printed ("Accepted by Jane Doe on 2026-03-02 14:05 UTC from
        203.0.113.7, Mozilla/5.0 ..."), when they gave it through their hub link."""
        if not self.decided_by_name or self.decided_at is None:
            return None
        verb = "Accepted" if self.status == self.Status.ACCEPTED else "Declined"
        printed = f"{verb} by {self.decided_by_name} on {self.decided_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        if self.decided_from_ip:
            printed += f" from {self.decided_from_ip}"
        if self.decided_user_agent:
            printed += f", {self.decided_user_agent}"
        if self.decline_reason:
            printed += f". Reason: {self.decline_reason}"
        return printed


class QuoteItem(DocumentItem):
    """One line of a quote. An optional line counts in the quote's totals only while
    `selected` (staff may preselect it; the customer ticks or unticks it through their hub link)."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="items")
    optional = models.BooleanField(default=False)
    selected = models.BooleanField(default=True)


class QuoteSettings(SettingsRow):
    """How long a quote stays valid by default, and its number's prefix (`Q-2026-0001`)."""

    quote_validity_days = models.PositiveIntegerField(default=30)
    quote_prefix = models.CharField(max_length=10, default="Q")
