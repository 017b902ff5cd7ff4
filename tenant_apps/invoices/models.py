"""Invoices, their line items, and what quotes and invoices share: the document and line
columns, the per-year numbering counters and the stored PDFs (tenant schema)."""

from django.db import models
from django.db.models import F, Q


class DocumentType(models.TextChoices):
    QUOTE = "quote", "Quote"
    INVOICE = "invoice", "Invoice"


class DocumentCounter(models.Model):
    """The last number handed out for one document type in one year (the tenant's local
    year). Locked with SELECT ... FOR UPDATE by `assign_document_number`, in the same
    transaction that takes a document out of DRAFT, so numbers are gapless and unique."""

    document_type = models.CharField(max_length=16, choices=DocumentType.choices)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("document_type", "year"), name="invoices_counter_type_year_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.document_type} {self.year}: {self.last_number}"


class Document(models.Model):
    """Columns every quote and invoice has. Money is integer minor units of `currency`; the
    totals are stored as `compute_totals` produced them when the items were last written,
    so lists need no recomputation. `version` grows on every change (optimistic updates of
    drafts, and the key of the stored PDF)."""

    number = models.CharField(max_length=40, null=True, blank=True, unique=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="%(class)ss")
    currency = models.CharField(max_length=3)
    document_discount = models.BigIntegerField(default=0)
    notes = models.TextField(blank=True)
    subtotal = models.BigIntegerField(default=0)
    discount_total = models.BigIntegerField(default=0)
    tax_total = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    issued_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.BigIntegerField(null=True, blank=True, help_text="User id (public schema)")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.number or f"draft #{self.pk}"


class DocumentItem(models.Model):
    """Columns every line item has: what was entered and what `compute_totals` made of it."""

    position = models.PositiveIntegerField()
    description = models.CharField(max_length=2000)
    quantity = models.DecimalField(max_digits=20, decimal_places=6)
    unit_price = models.BigIntegerField()
    tax_rate = models.DecimalField(max_digits=9, decimal_places=4, help_text="Percent: 8.25 is 8.25 %")
    discount = models.BigIntegerField(default=0)
    subtotal = models.BigIntegerField()
    tax = models.BigIntegerField()
    total = models.BigIntegerField()

    class Meta:
        abstract = True
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.description[:50]


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

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    due_date = models.DateField(help_text="Local date of the tenant")
    amount_paid = models.BigIntegerField(default=0)
    quote = models.OneToOneField(
        "quotes.Quote", on_delete=models.PROTECT, null=True, blank=True, related_name="invoice"
    )

    class Meta(Document.Meta):
        constraints = [
            models.CheckConstraint(
                condition=Q(status="DRAFT", number__isnull=True) | (~Q(status="DRAFT") & Q(number__isnull=False)),
                name="invoices_invoice_numbered_unless_draft",
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0, amount_paid__lte=F("total")),
                name="invoices_invoice_paid_within_total",
            ),
        ]

    @property
    def amount_due(self) -> int:
        return self.total - self.amount_paid


class InvoiceItem(DocumentItem):
    """One line of an invoice."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="items")


class StoredPdf(models.Model):
    """The last rendered PDF of a document (`documents.stored_document_pdf`). A numbered
    document's is served while its `version` is the one rendered; a draft's while, in
    addition, everything printed on it is unchanged (`inputs_sha256`)."""

    document_type = models.CharField(max_length=16, choices=DocumentType.choices)
    document_id = models.BigIntegerField()
    document_version = models.PositiveIntegerField()
    inputs_sha256 = models.CharField(max_length=64, default="", help_text="Digest of what the PDF prints")
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    rendered_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("document_type", "document_id"), name="invoices_pdf_document_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.document_type} {self.document_id} v{self.document_version}"
