"""Quotes and their line items (tenant schema)."""

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

    document_type = DocumentType.QUOTE
    date_field = "valid_until"
    instead_of_deleting = "reject it instead"

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
        return {"valid_until": self.valid_until}


class QuoteItem(DocumentItem):
    """One line of a quote."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="items")


class QuoteSettings(SettingsRow):
    """How long a quote stays valid by default, and its number's prefix (`Q-2026-0001`)."""

    quote_validity_days = models.PositiveIntegerField(default=30)
    quote_prefix = models.CharField(max_length=10, default="Q")
