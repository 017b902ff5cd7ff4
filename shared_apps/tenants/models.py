"""Tenants (businesses) and their hosts, in the public schema."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from shared_apps.flags import services as flags


class TenantQuerySet(models.QuerySet["Tenant"]):
    def active(self) -> "TenantQuerySet":
        """The businesses that may run work (Tenant.is_active), for queries."""
        return self.filter(status=Tenant.Status.ACTIVE)


class Tenant(TenantMixin):
    """A business: who it is (identity, zone, currency, country, status, profile). Its data lives
    in its own schema, whose name is opaque (never the slug), so a schema can be prepared in a
    pool before anyone knows who will claim it; so do its features' settings (sections.py)."""

    class Status(models.TextChoices):
        POOLED = "pooled", "Pooled (ready schema, unclaimed)"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    objects = TenantQuerySet.as_manager()

    # Schemas are created by `provisioning`, never inside save().
    auto_create_schema = False
    auto_drop_schema = False

    slug = models.SlugField(max_length=63, unique=True, null=True, blank=True)
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.POOLED, db_index=True)
    timezone = models.CharField(max_length=64, default="UTC")
    currency = models.CharField(max_length=3, default="usd")
    country = models.CharField(max_length=2, default="US", help_text="ISO 3166 region for phone numbers")
    # Superseded by the price book's services: no code reads it; the price book's migration
    # 0002 copies it into each business's schema. Drop it once every schema has run that.
    voice_services = models.JSONField(default=list, blank=True)
    # The business's contact details, printed on its quotes and invoices; blank: not printed.
    address = models.TextField(blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")
    email = models.EmailField(max_length=254, blank=True, default="")
    tax_id = models.CharField(max_length=50, blank=True, default="")
    # The brand colour ("#1A73E8") of its documents and emails; blank: the house ink. The
    # logo is a TenantLogo (shared_apps/tenants/branding.py).
    brand_color = models.CharField(max_length=7, blank=True, default="")
    # When the business was created (claimed from the pool), not when its schema was made.
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    # Set when the tenant is deleted: it is suspended at once and its schema dropped after
    # this instant (TENANT_DELETION_GRACE_DAYS) by the purge job, unless restored before.
    deletion_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Hash of the migrations applied in the schema (shared_apps/tenants/fingerprints.py).
    migrations_fingerprint = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return self.slug or self.schema_name

    @property
    def is_active(self) -> bool:
        """Whether the business may run work at all (`may_run` without an integration)."""
        return self.may_run()

    def may_run(self, *, integration: str | None = None) -> bool:
        """Whether the business may run work: serve its members, run its jobs, process its
        providers' events, open its pay links. A pooled schema is nobody's yet; a suspended
        (or deleted) business keeps its data and waits. With `integration` (a flag of
        shared_apps/flags: sms, voice, card_payments...), work of that integration, which its
        flag may have switched off for this business alone."""
        if self.status != self.Status.ACTIVE:
            return False
        return integration is None or flags.is_enabled(integration, tenant_id=self.pk)

    @property
    def claimed_slug(self) -> str:
        """The slug of a claimed business: only pooled schemas have none, and no route or feed
        reaches one of those."""
        assert self.slug is not None, f"tenant {self.pk} is unclaimed"
        return self.slug

    @property
    def zone(self) -> ZoneInfo:
        """The business's IANA zone: every calendar rule (hours, end of a day) is read in it."""
        return ZoneInfo(self.timezone)

    def local_date(self, at: datetime) -> date:
        """The business's calendar date at the instant `at`."""
        return at.astimezone(self.zone).date()


class Domain(DomainMixin):
    """A host name that resolves to a tenant (`<slug>.<BASE_DOMAIN>`)."""


class CustomDomain(models.Model):
    """A host name of the tenant's own (`book.acme.com`). It resolves to the tenant, through a
    Domain row, only once a DNS TXT record holding `verification_token` proves the tenant
    controls it; until then several tenants may claim the same name, and the first to prove it
    wins."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="custom_domains")
    domain = models.CharField(max_length=253)
    verification_token = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = [models.UniqueConstraint(fields=["tenant", "domain"], name="custom_domain_unique_per_tenant")]

    def __str__(self) -> str:
        return f"{self.domain} -> tenant {self.tenant_id}"


class TenantLogo(models.Model):
    """A business's logo, a small PNG or JPEG checked on upload, kept in object storage under
    the tenant's prefix (`key`, relative to it); only shared_apps/tenants/branding.py reads or
    writes it. `content` holds a logo uploaded before logos moved to storage, until its first
    read moves it there."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="logo")
    key = models.CharField(max_length=200, blank=True)
    content = models.BinaryField(blank=True, null=True)
    content_type = models.CharField(max_length=20)
    sha256 = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"logo of tenant {self.tenant_id}"
