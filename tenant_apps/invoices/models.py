"""Invoices and their line items (tenant schema)."""

from collections.abc import Callable
from typing import Any

from django.db import models
from django.db.models import Q

from shared_apps.tenants.sections import SettingsRow
from tenant_apps.billing.models import Document, DocumentItem, DocumentType

# The pay link of an unpaid invoice, or None when the business takes no cards. Payments sits
# above invoices, so it provides this in its AppConfig.ready() (register_pay_link).
PayLink = Callable[[int], str | None]
_pay_link: list[PayLink] = []


def register_pay_link(pay_link: PayLink) -> None:
    """Set (or replace) the function that makes an invoice's pay link from its id."""
    _pay_link[:] = [pay_link]


class Invoice(Document):
    """A bill. Numbered when it leaves DRAFT; `amount_paid` is the payments ledger's net
    (payments minus refunds), kept in step under this row's lock by the payments services."""

    class Status(models.TextChoices):
        DRAFT = "DRAFT", "Draft"
        SENT = "SENT", "Sent"
        PARTIALLY_PAID = "PARTIALLY_PAID", "Partially paid"
        PAID = "PAID", "Paid"
        OVERDUE = "OVERDUE", "Overdue"
        CANCELLED = "CANCELLED", "Cancelled"

    # Sent and not yet paid in full: the invoice takes payments (cash or card) and is chased.
    PAYABLE_STATUSES = frozenset({Status.SENT, Status.PARTIALLY_PAID, Status.OVERDUE})

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    due_date = models.DateField(help_text="Local date of the tenant")
    amount_paid = models.BigIntegerField(default=0)
    # Set when a card payment on it is disputed (charge.dispute.created); the owner acts.
    disputed_at = models.DateTimeField(null=True, blank=True)
    quote = models.OneToOneField(
        "quotes.Quote", on_delete=models.PROTECT, null=True, blank=True, related_name="invoice"
    )

    class Meta(Document.Meta):
        constraints = [
            models.CheckConstraint(
                condition=Q(status="DRAFT", number__isnull=True) | (~Q(status="DRAFT") & Q(number__isnull=False)),
                name="invoices_invoice_numbered_unless_draft",
            ),
            # More than the total is a credit: a card payment that arrived after cash covered it.
            models.CheckConstraint(condition=Q(amount_paid__gte=0), name="invoices_invoice_paid_not_negative"),
        ]

    document_type = DocumentType.INVOICE
    date_field = "due_date"
    instead_of_deleting = "cancel it instead"

    @classmethod
    def number_prefix(cls) -> str:
        return InvoiceSettings.load().invoice_prefix

    @property
    def amount_due(self) -> int:
        return max(self.total - self.amount_paid, 0)

    @property
    def credit(self) -> int:
        """What was paid beyond the total (owed back to the customer or kept as credit)."""
        return max(self.amount_paid - self.total, 0)

    def pdf_fields(self) -> dict[str, Any]:
        return {
            "due_date": self.due_date,
            "amount_paid": self.amount_paid,
            "amount_due": self.amount_due,
            "credit": self.credit,
            "pay_url": self._pay_url(),
        }

    @property
    def takes_payment(self) -> bool:
        """Whether the customer can pay it now: a payable status and something still due."""
        return self.status in self.PAYABLE_STATUSES and self.amount_due > 0

    def _pay_url(self) -> str | None:
        """The pay link, for an unpaid sent invoice of a business that takes cards."""
        if not self.takes_payment or not _pay_link:
            return None
        return _pay_link[0](self.pk)


class InvoiceItem(DocumentItem):
    """One line of an invoice."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="items")


class InvoiceSettings(SettingsRow):
    """Payment terms (days from issue to due date) and the invoice number's prefix."""

    payment_terms_days = models.PositiveIntegerField(default=14)
    invoice_prefix = models.CharField(max_length=10, default="INV")
