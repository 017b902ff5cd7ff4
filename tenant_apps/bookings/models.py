"""Online booking requests (tenant schema)."""

from django.db import models
from django.db.models import F, Q

# A request that holds its customer's place at its time: asked again, it is answered as is.
OPEN_STATUSES = ("PENDING", "ACCEPTED")


class BookingRequest(models.Model):
    """A customer's online booking of a price book service at a free slot. ACCEPTED once it is
    an appointment (at once, or when staff accept it), PENDING while it waits for staff when
    the business confirms first, DECLINED when staff say no. The service's name and length
    are copied: editing the price book changes no request already made."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        ACCEPTED = "ACCEPTED", "Accepted"
        DECLINED = "DECLINED", "Declined"

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="booking_requests")
    service = models.ForeignKey(
        "pricebook.PriceBookItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="booking_requests"
    )
    service_name = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    service_property = models.ForeignKey(
        "customers.Property", null=True, blank=True, on_delete=models.SET_NULL, related_name="booking_requests"
    )
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices)
    appointment = models.OneToOneField(
        "appointments.Appointment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="booking_request",
    )
    decline_reason = models.TextField(blank=True)
    decided_by_id = models.BigIntegerField(null=True, blank=True, help_text="accounts.User id (public schema)")
    decided_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="booking_request_ends_after_start"),
            # A form sent twice (a double tap, a reload) books once: the second finds the first.
            models.UniqueConstraint(
                fields=["customer", "starts_at", "service_name"],
                condition=Q(status__in=OPEN_STATUSES),
                name="booking_request_once_per_slot",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "starts_at"], name="booking_request_status"),
            models.Index(fields=["customer", "-created_at"], name="booking_request_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.service_name} at {self.starts_at:%Y-%m-%d %H:%M} ({self.status})"
