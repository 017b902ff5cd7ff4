"""The business's price book (tenant schema)."""

from django.db import models
from django.db.models.functions import Upper


class PriceBookItem(models.Model):
    """A service or material the business sells. `unit_price` is integer minor units of the
    business's currency; `tax_rate` is a percent as on document items (8.25 is 8.25 %).
    Documents copy what they take from here, so editing an item never changes one already
    written. A service's `duration_minutes` is how long a visit for it is booked."""

    class Kind(models.TextChoices):
        SERVICE = "service", "Service"
        MATERIAL = "material", "Material"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    unit_price = models.BigIntegerField()
    unit = models.CharField(max_length=30, blank=True, help_text="hour, each, m²... blank: each")
    tax_rate = models.DecimalField(max_digits=9, decimal_places=4, default=0, help_text="Percent")
    taxable = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True, help_text="Services only")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-kind", "name", "id")  # services first
        constraints = [
            # The receptionist and people pick items by name: one name, one item.
            models.UniqueConstraint(Upper("name"), "kind", name="pricebook_item_name_uniq"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="pricebook_item_price_not_negative"),
            models.CheckConstraint(
                condition=models.Q(kind="service") | models.Q(duration_minutes__isnull=True),
                name="pricebook_only_services_have_duration",
            ),
        ]

    def __str__(self) -> str:
        return self.name
