"""Files a business keeps (tenant schema): attachments of its customers, appointments,
documents and texts, and its storage settings. The bytes are in object storage
(shared_apps/storage.py) under the tenant's prefix; these rows decide who reaches them."""

from django.db import models


class FileSettings(models.Model):
    """The business's file settings, one row. Its lock serialises uploads that count against
    the quota, so two at once cannot both fit in the last free bytes."""

    quota_bytes = models.BigIntegerField(
        null=True, blank=True, help_text="Storage quota in bytes; null: ATTACHMENT_DEFAULT_QUOTA_BYTES, 0: no limit"
    )

    def __str__(self) -> str:
        return f"quota {self.quota_bytes}"


class Attachment(models.Model):
    """A file attached to a customer, an appointment, a quote, an invoice, a text or a work
    request.

    Made `pending` when an upload is handed out (its declared size already counts against
    the quota); `ready` once `complete_upload` checked the bytes and moved them from
    `upload_key` to `key` (images re-encoded without EXIF, with a thumbnail). Keys are
    relative to the tenant's storage prefix."""

    class Parent(models.TextChoices):
        CUSTOMER = "customer"
        APPOINTMENT = "appointment"
        QUOTE = "quote"
        INVOICE = "invoice"
        MESSAGE = "message"
        WORK_REQUEST = "work_request"

    class Status(models.TextChoices):
        PENDING = "pending"
        READY = "ready"

    parent_type = models.CharField(max_length=16, choices=Parent.choices)
    parent_id = models.BigIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, help_text="Declared while pending, read from the bytes once ready")
    size = models.BigIntegerField(help_text="Bytes; while pending, the most the upload may have")
    caption = models.CharField(max_length=500, blank=True)
    on_pdf = models.BooleanField(default=False, help_text="A photo of a quote or invoice printed on its PDF")
    upload_key = models.CharField(max_length=200, unique=True)
    key = models.CharField(max_length=200, blank=True)
    thumbnail_key = models.CharField(max_length=200, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    uploaded_by = models.BigIntegerField(null=True, blank=True, help_text="User id (public schema)")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=("parent_type", "parent_id", "status"), name="files_attachment_parent_idx"),
            models.Index(fields=("status", "created_at"), name="files_attachment_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.parent_type} {self.parent_id}: {self.filename}"
