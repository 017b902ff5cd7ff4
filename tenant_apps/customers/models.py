"""A business's customers (tenant schema)."""

from django.db import models


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

    def __str__(self) -> str:
        return self.name
