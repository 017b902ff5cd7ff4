"""Work requests (tenant schema)."""

from django.db import models


class WorkRequest(models.Model):
    """A customer asking for work: what (`description`), where (one of their properties; an
    address they typed becomes one), when suits them (`preferred_times`, their words), with
    photos as attachments (files, parent type `work_request`). NEW until staff convert it
    (into an appointment or a draft quote) or close it."""

    class Status(models.TextChoices):
        NEW = "NEW", "New"
        CONVERTED = "CONVERTED", "Converted"
        CLOSED = "CLOSED", "Closed"

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="work_requests")
    description = models.TextField()
    service_property = models.ForeignKey(
        "customers.Property", null=True, blank=True, on_delete=models.SET_NULL, related_name="work_requests"
    )
    preferred_times = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.NEW)
    appointment = models.ForeignKey(
        "appointments.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="work_requests"
    )
    quote = models.ForeignKey(
        "quotes.Quote", null=True, blank=True, on_delete=models.SET_NULL, related_name="work_requests"
    )
    close_reason = models.TextField(blank=True)
    decided_by_id = models.BigIntegerField(null=True, blank=True, help_text="accounts.User id (public schema)")
    decided_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["status", "-created_at"], name="work_request_status"),
            models.Index(fields=["customer", "-created_at"], name="work_request_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.description[:40]} ({self.status})"
