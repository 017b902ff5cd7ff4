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


class Property(models.Model):
    """A place where the business works for a customer (a landlord's flats, a shop and its
    owner's home). Appointments, quotes and invoices name the one where the work is. Each
    customer with properties has exactly one default, the one offered first; a blank
    `country` is the business's own."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="properties")
    label = models.CharField(max_length=100, blank=True, help_text='"Flat 2", "Shop"; blank: none')
    lines = models.TextField(help_text="Street lines, one per line")
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166; blank: the business's")
    access_notes = models.TextField(blank=True, help_text="Gate codes, keys, parking, pets")
    is_default = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-is_default", "created_at", "id")
        verbose_name_plural = "properties"
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=models.Q(is_default=True), name="property_one_default_per_customer"
            ),
        ]
        indexes = [models.Index(fields=["customer", "created_at"], name="property_customer_created")]

    def __str__(self) -> str:
        return self.one_line()

    def postal_lines(self) -> list[str]:
        """The address as printed on an envelope: street lines, then city, region and postal
        code on one line, then the country when it is set."""
        town = " ".join(part for part in (self.city, self.region, self.postal_code) if part)
        return [line for line in [*self.lines.splitlines(), town, self.country] if line]

    def one_line(self) -> str:
        """The address on one line ("12 High St, Leeds LS1 4AP"), for calendars and callers."""
        return ", ".join(self.postal_lines())
