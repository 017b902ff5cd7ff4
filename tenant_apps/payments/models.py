"""The payments ledger (tenant schema): every payment and refund against an invoice is a row;
an invoice's balance is its total minus payments plus refunds."""

from django.db import models
from django.db.models import Q


class Payment(models.Model):
    """Money received for (`payment`) or returned from (`refund`) an invoice. `amount` is
    always positive; `kind` gives the direction. Provider rows (Stripe) carry a unique
    `provider_id` so a webhook delivered twice records one row."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund"

    class Method(models.TextChoices):
        CASH = "cash", "Cash"
        CHECK = "check", "Check"
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CARD = "card", "Card"
        OTHER = "other", "Other"

    invoice = models.ForeignKey("invoices.Invoice", on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PAYMENT)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=16, choices=Method.choices)
    reference = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=32, default="manual")
    provider_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    occurred_at = models.DateTimeField()
    recorded_by = models.BigIntegerField(null=True, blank=True, help_text="User id (public schema)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-occurred_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} on invoice {self.invoice_id}"
