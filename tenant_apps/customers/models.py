"""A business's customers (tenant schema)."""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper


class Customer(models.Model):
    """Someone the business serves. Archived instead of deleted once documents refer to it."""

    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    address = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    sms_opt_out = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            # `?search=` is a case-insensitive substring match (Django's icontains compiles to
            # UPPER(col) LIKE UPPER(%s)); trigram GIN indexes on the same expressions serve it.
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="customer_name_trgm"),
            GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="customer_email_trgm"),
            GinIndex(OpClass("phone", name="gin_trgm_ops"), name="customer_phone_trgm"),
            # Inbound SMS and calls look a customer up by exact E.164 number.
            models.Index(fields=["phone"], name="customer_phone"),
        ]

    def __str__(self) -> str:
        return self.name
