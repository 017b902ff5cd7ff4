"""Quotes and their line items (tenant schema)."""

from django.db import models
from django.db.models import Q

from tenant_apps.invoices.models import Document, DocumentItem


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

    class Meta(Document.Meta):
        constraints = [
            models.CheckConstraint(
                condition=Q(status="DRAFT", number__isnull=True) | (~Q(status="DRAFT") & Q(number__isnull=False)),
                name="quotes_quote_numbered_unless_draft",
            ),
        ]


class QuoteItem(DocumentItem):
    """One line of a quote."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="items")
