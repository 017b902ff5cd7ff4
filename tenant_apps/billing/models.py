"""What quotes and invoices share (tenant schema): the document and line columns, the
per-year numbering counters and the stored PDFs."""

from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.db import models

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager


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
        # The table and constraint keep the names they had when invoices held them.
        db_table = "invoices_documentcounter"
        constraints = [
            models.UniqueConstraint(fields=("document_type", "year"), name="invoices_counter_type_year_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.document_type} {self.year}: {self.last_number}"


class Document(models.Model):
    """Columns every quote and invoice has. Money is integer minor units of `currency`; the
    totals are stored as `compute_totals` produced them when the items were last written,
    so lists need no recomputation. `version` grows on every change (optimistic updates of
    drafts, and the key of the stored PDF).

    Each concrete model declares what differs between the kinds: the class attributes below,
    `number_prefix`, `pdf_fields`, a `Status` with DRAFT, and an `items` relation to its
    DocumentItem model."""

    # A DocumentType: the kind's counter and stored PDFs.
    document_type: ClassVar[str]
    # The kind's own date, which drafts may edit (an invoice's due date, a quote's validity).
    date_field: ClassVar[str]
    # What to do with a numbered document, which cannot be deleted.
    instead_of_deleting: ClassVar[str]
    # Whether its items may be optional (the customer ticks the ones they want): quotes.
    allows_optional_items: ClassVar[bool] = False

    if TYPE_CHECKING:
        # What each concrete kind declares, for type checks of the code written once for both.
        Status: ClassVar[Any]
        status: str
        items: RelatedManager["DocumentItem"]
        objects: ClassVar[models.Manager[Any]]

    number = models.CharField(max_length=40, null=True, blank=True, unique=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="%(class)ss")
    # Where the work is: one of the customer's properties, printed on the document.
    service_property = models.ForeignKey(
        "customers.Property", null=True, blank=True, on_delete=models.PROTECT, related_name="%(class)ss"
    )
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

    @classmethod
    def label(cls) -> str:
        """ "Quote", "Invoice": how the kind is named in messages and on its PDF."""
        return DocumentType(cls.document_type).label

    @classmethod
    def item_model(cls) -> type["DocumentItem"]:
        return cast(type["DocumentItem"], cls._meta.get_field("items").related_model)

    @classmethod
    def item_parent_field(cls) -> str:
        """The name of the items' foreign key to their document."""
        return cast(models.ManyToOneRel, cls._meta.get_field("items")).field.name

    @classmethod
    def number_prefix(cls) -> str:
        """The business's prefix for this kind of document (its app's settings)."""
        raise NotImplementedError

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    def pdf_fields(self) -> dict[str, Any]:
        """What the kind's PDF prints besides the shared fields (dates, balance)."""
        raise NotImplementedError


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

    if TYPE_CHECKING:
        objects: ClassVar[models.Manager[Any]]  # each concrete kind's default manager

    class Meta:
        abstract = True
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.description[:50]


class StoredPdf(models.Model):
    """The last rendered PDF of a document (`documents.stored_document_pdf`). A numbered
    document's is served while its `version` is the one rendered; a draft's while, in
    addition, everything printed on it is unchanged (`inputs_sha256`). The bytes are in object
    storage at `key` (relative to the tenant's prefix); `content` holds those of a PDF stored
    before PDFs moved to storage, until it is first served (then it moves too)."""

    document_type = models.CharField(max_length=16, choices=DocumentType.choices)
    document_id = models.BigIntegerField()
    document_version = models.PositiveIntegerField()
    inputs_sha256 = models.CharField(max_length=64, default="", help_text="Digest of what the PDF prints")
    key = models.CharField(max_length=200, blank=True)
    content = models.BinaryField(null=True, blank=True)
    sha256 = models.CharField(max_length=64)
    rendered_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "invoices_storedpdf"
        constraints = [
            models.UniqueConstraint(fields=("document_type", "document_id"), name="invoices_pdf_document_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.document_type} {self.document_id} v{self.document_version}"
