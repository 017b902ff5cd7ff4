"""The rules for tenants: identity, profile, settings (composed from the apps' sections),
suspension and deletion."""

import re
import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from shared_apps import storage
from shared_apps.audit import services as audit
from shared_apps.errors import Conflict, PermissionDenied, ValidationFailed, violated_constraint
from shared_apps.events.services import emit
from shared_apps.flags import services as flags
from shared_apps.outbox.models import OutboxMessage
from shared_apps.outbox.services import enqueue_after_commit
from shared_apps.tenants import daily_jobs, queries
from shared_apps.tenants.models import Domain, Tenant
from shared_apps.tenants.provisioning import claim_or_create_tenant_schema, drop_tenant_schema
from shared_apps.tenants.sections import (
    SettingsRow,
    SettingsSection,
    in_schema_of,
    international_number,
    invalid_setting,
    load_rows,
    settings_sections,
)

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
# Subdomains that must never belong to a tenant.
RESERVED_SLUGS = frozenset({"www", "api", "admin", "app", "mail", "static", "public", "platform", "docs"})
# The unique constraints a taken slug violates: the tenant's slug and its host name.
SLUG_CONSTRAINTS = frozenset({"tenants_tenant_slug_key", "tenants_domain_domain_key"})


def tenant_host(*, slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def require_active_tenant(*, tenant: Tenant) -> None:
    """Refuse (403 `tenant_suspended`) anything done for a business that may not run work."""
    if not tenant.is_active:
        raise PermissionDenied("This business is suspended.", code="tenant_suspended")


def validate_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not SLUG_PATTERN.match(slug) or "--" in slug or slug in RESERVED_SLUGS:
        raise ValidationFailed(
            "Invalid slug.",
            details=[
                {
                    "field": "slug",
                    "message": "3-63 lowercase letters, digits or single hyphens, not starting or ending "
                    "with a hyphen, and not a reserved name.",
                }
            ],
        )
    return slug


def slug_from_name(name: str) -> str:
    """A slug suggestion from a business name ("Joe's Plumbing" -> "joes-plumbing")."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower().replace("'", "")).strip("-")[:63].strip("-")
    return slug if len(slug) >= 3 else f"{slug}-biz".strip("-")


def validate_timezone(value: str) -> str:
    if value not in zoneinfo.available_timezones():
        raise ValidationFailed(
            "Unknown time zone.", details=[{"field": "timezone", "message": f"{value!r} is not an IANA time zone."}]
        )
    return value


def validate_currency(value: str) -> str:
    if len(value) != 3 or pycountry.currencies.get(alpha_3=value.upper()) is None:
        raise ValidationFailed(
            "Unknown currency.",
            details=[{"field": "currency", "message": f"{value!r} is not an ISO 4217 currency code."}],
        )
    return value.lower()


def validate_country(value: str) -> str:
    if len(value) != 2 or pycountry.countries.get(alpha_2=value.upper()) is None:
        raise ValidationFailed(
            "Unknown country.", details=[{"field": "country", "message": f"{value!r} is not an ISO 3166 code."}]
        )
    return value.upper()


def _slug_taken() -> Conflict:
    return Conflict("That slug is already taken.", code="slug_taken", details=[{"field": "slug"}])


def activate_tenant(*, tenant: Tenant, slug: str, name: str, timezone_name: str, currency: str) -> Tenant:
    """Give a claimed schema its identity and host. Raises Conflict if the slug is taken."""
    tenant.slug = slug
    tenant.name = name
    tenant.timezone = timezone_name
    tenant.currency = currency
    tenant.status = Tenant.Status.ACTIVE
    # The business is created now, whenever its pooled schema was made.
    tenant.created_at = tenant.activated_at = timezone.now()
    try:
        with transaction.atomic():
            tenant.save(
                update_fields=["slug", "name", "timezone", "currency", "status", "created_at", "activated_at"],
            )
            Domain.objects.create(domain=tenant_host(slug=slug), tenant=tenant, is_primary=True)
            daily_jobs.schedule_daily_jobs(tenant=tenant)
    except IntegrityError as error:
        if violated_constraint(error) not in SLUG_CONSTRAINTS:
            raise
        raise _slug_taken() from None
    return tenant


def create_tenant(*, slug: str, name: str, timezone_name: str = "UTC", currency: str = "usd") -> Tenant:
    """Create an active tenant with a ready schema (registration, platform admins, management
    commands), all or nothing: in a transaction of its own, or a savepoint of the caller's."""
    slug = validate_slug(slug)
    timezone_name = validate_timezone(timezone_name)
    currency = validate_currency(currency)
    with transaction.atomic():
        if Tenant.objects.filter(slug=slug).exists():
            raise _slug_taken()
        tenant = claim_or_create_tenant_schema()
        activate_tenant(tenant=tenant, slug=slug, name=name, timezone_name=timezone_name, currency=currency)
        audit.record(action="tenant.created", tenant_id=tenant.pk, target=f"tenant:{slug}")
        enqueue_after_commit(actor_name="refill_tenant_pool")
    return tenant


# The profile a tenant's owner or admin may change, with its validators; the features'
# settings are their apps' sections (sections.py).
_PROFILE_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "name": lambda value: str(value).strip() or _required("name"),
    "timezone": validate_timezone,
    "currency": validate_currency,
    "country": validate_country,
    "address": lambda value: validate_contact_address(value),
    "phone": lambda value: validate_contact_phone(value),
    "email": lambda value: validate_contact_email(value),
    "tax_id": lambda value: validate_tax_id(value),
    "brand_color": lambda value: validate_brand_color(value),
}
# What GET /tenants/me shows of the Tenant row itself, beside the sections.
_PROFILE_FIELDS = (
    "id",
    "slug",
    "name",
    "status",
    "timezone",
    "currency",
    "country",
    "address",
    "phone",
    "email",
    "tax_id",
    "brand_color",
    "created_at",
)


# What fits the header of a printed quote or invoice.
MAX_ADDRESS_LINES = 5
MAX_ADDRESS_CHARS = 500


def validate_contact_address(value: str, *, field: str = "address") -> str:
    """The postal address, at most MAX_ADDRESS_LINES lines; blank lines and edges trimmed.
    A 400 names `field` (a customer's property calls its lines `lines`)."""
    lines = [line.strip() for line in value.strip().splitlines() if line.strip()]
    if len(lines) > MAX_ADDRESS_LINES or sum(len(line) for line in lines) > MAX_ADDRESS_CHARS:
        message = f"At most {MAX_ADDRESS_LINES} lines and {MAX_ADDRESS_CHARS} characters."
        raise ValidationFailed("Invalid address.", details=[{"field": field, "message": message}])
    return "\n".join(lines)


def validate_brand_color(value: str) -> str:
    """A colour as "#RRGGBB" (upper case; "#abc" is "#AABBCC"); blank means none."""
    value = str(value or "").strip()
    if not value:
        return ""
    if not re.fullmatch(r"#([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})", value):
        raise invalid_setting("brand_color", 'A hex colour such as "#1A73E8".')
    digits = value[1:] if len(value) == 7 else "".join(char * 2 for char in value[1:])
    return f"#{digits.upper()}"


def validate_contact_phone(value: str) -> str:
    """The business's phone number in international form, stored E.164; blank means none."""
    return international_number(
        value, field_name="phone", message="A phone number in international form, such as +1 202 555 0123."
    )


def validate_contact_email(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    try:
        validate_email(value)
    except DjangoValidationError:
        raise invalid_setting("email", "Not a valid email.") from None
    return value


def validate_tax_id(value: str) -> str:
    """A VAT, EIN, ABN... number as the business writes it: letters, digits, spaces and -./"""
    value = " ".join(value.split())
    if value and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ./-]{0,49}", value):
        raise invalid_setting("tax_id", "At most 50 letters, digits, spaces and - . / characters.")
    return value


def _required(field: str) -> str:
    raise invalid_setting(field, "Must not be blank.")


def _validator(field: str) -> Callable[[Any], Any] | None:
    if field in _PROFILE_VALIDATORS:
        return _PROFILE_VALIDATORS[field]
    return next((section.validators[field] for section in settings_sections() if field in section.validators), None)


def tenant_settings(*, tenant: Tenant) -> dict[str, Any]:
    """The business's profile and every app's settings section, as GET /tenants/me shows them
    (one query for all the sections)."""
    sections = settings_sections()
    with in_schema_of(tenant):
        rows = load_rows([section.model for section in sections])
    return _composed(tenant, list(zip(sections, rows, strict=True)))


def _composed(tenant: Tenant, rows: list[tuple[SettingsSection, SettingsRow]]) -> dict[str, Any]:
    composed = {field: getattr(tenant, field) for field in _PROFILE_FIELDS}
    for section, row in rows:
        composed.update(section.values(row))
    return composed


def update_tenant_settings(*, tenant_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Validate and save the given settings, the profile's on the Tenant row and each app's in
    its section; unknown keys are refused. Returns them all, as `tenant_settings`. Concurrent
    changes are serialized by the Tenant row's lock, sections included, so none is lost."""
    validators = {field: _validator(field) for field in changes}
    unknown = [field for field, validator in validators.items() if validator is None]
    if unknown:
        raise ValidationFailed(
            "Unknown settings.", details=[{"field": field, "message": "Not a tenant setting."} for field in unknown]
        )
    cleaned = {field: validator(changes[field]) for field, validator in validators.items() if validator}
    profile = {field: value for field, value in cleaned.items() if field in _PROFILE_VALIDATORS}
    with transaction.atomic():
        tenant = queries.get_tenant_for_update(tenant_id=tenant_id)
        sections = settings_sections()
        with in_schema_of(tenant):
            rows = list(zip(sections, load_rows([section.model for section in sections]), strict=True))
        # What the audit trail compares with: the stored values of the fields sent.
        before = {field: getattr(tenant, field) for field in profile}
        before |= {name: getattr(row, name) for section, row in rows for name in cleaned if name in section.validators}
        for field, value in profile.items():
            setattr(tenant, field, value)
        if profile:
            tenant.save(update_fields=list(profile))
        if "timezone" in profile:
            daily_jobs.reschedule_daily_jobs(tenant=tenant)
        with in_schema_of(tenant):
            for section, row in rows:
                _save_section(tenant, section, row, cleaned)
        changed = audit.changed_fields(before=before, after=cleaned)
        if changed:
            audit.record(action="tenant.settings_changed", tenant_id=tenant.pk, details={"changed": changed})
    if profile:  # the sections are read from the schema, never cached
        queries.forget_tenant(tenant)
    return _composed(tenant, rows)


def _save_section(tenant: Tenant, section: SettingsSection, row: SettingsRow, cleaned: dict[str, Any]) -> None:
    changed = {field: value for field, value in cleaned.items() if field in section.validators}
    if not changed:
        return
    for field, value in changed.items():
        setattr(row, field, value)
    section.check(row)
    if row._state.adding:
        row.save(force_insert=True)
    else:
        row.save(update_fields=list(changed))
    if section.on_saved is not None:
        section.on_saved(tenant, changed)


def set_tenant_status(*, tenant_id: int, status: str) -> Tenant:
    """Suspend or reactivate a tenant. A pooled or unknown tenant is NotFound, whatever the
    status asked for."""
    with transaction.atomic():
        tenant = queries.get_claimed_tenant_for_update(tenant_id=tenant_id)
        if status not in (Tenant.Status.ACTIVE, Tenant.Status.SUSPENDED):
            raise ValidationFailed(
                "Invalid status.", details=[{"field": "status", "message": "Must be 'active' or 'suspended'."}]
            )
        if tenant.deletion_due_at is not None and status == Tenant.Status.ACTIVE:
            raise Conflict(
                "This business is being deleted; restore it to reactivate it.",
                code="deletion_scheduled",
                details=[{"deletion_due_at": tenant.deletion_due_at.isoformat()}],
            )
        if status == Tenant.Status.ACTIVE and not tenant.is_active:
            _release_held_events(tenant=tenant)
        previous_status, tenant.status = tenant.status, status
        if status != previous_status:
            audit.record(
                action="tenant.status_changed",
                tenant_id=tenant.pk,
                details={"status": {"before": previous_status, "after": status}},
            )
        tenant.save(update_fields=["status"])
        _status_changed(tenant=tenant, previous_status=previous_status)
    queries.forget_tenant(tenant)
    return tenant


def _status_changed(*, tenant: Tenant, previous_status: str) -> None:
    """In the changing transaction: say so (live updates close a suspended business's sockets)."""
    if tenant.status != previous_status:
        emit(
            "tenant.status_changed",
            tenant_schema=tenant.schema_name,
            status=tenant.status,
            previous_status=previous_status,
        )


def _release_held_events(*, tenant: Tenant) -> None:
    """In the reactivating transaction: a job, run after it commits, queues the webhook events
    held while the business was suspended (webhooks.release_held_webhook_events)."""
    enqueue_after_commit(actor_name="release_held_webhook_events", tenant_id=tenant.pk)


def list_tenant_flags(*, tenant_id: int) -> list[flags.FlagState]:
    """Every feature flag as it is for a claimed business (NotFound for any other id)."""
    queries.get_claimed_tenant(tenant_id=tenant_id)
    return flags.list_flags(tenant_id=tenant_id)


def set_tenant_flag(*, tenant_id: int, name: str, enabled: bool | None) -> flags.FlagState:
    """Switch a feature flag on or off for a claimed business, or drop its override (None)."""
    queries.get_claimed_tenant(tenant_id=tenant_id)
    return flags.set_tenant_flag(tenant_id=tenant_id, name=name, enabled=enabled)


def schedule_tenant_deletion(*, tenant_id: int) -> Tenant:
    """Delete a business the recoverable way: suspended at once (every route answers 403,
    webhooks are stored, not run), its schema and rows dropped by `purge_deleted_tenants`
    TENANT_DELETION_GRACE_DAYS later, unless `restore_tenant` is called before. Deleting it
    again keeps the first due date."""
    with transaction.atomic():
        tenant = queries.get_claimed_tenant_for_update(tenant_id=tenant_id)
        previous_status, tenant.status = tenant.status, Tenant.Status.SUSPENDED
        tenant.deletion_due_at = tenant.deletion_due_at or timezone.now() + timedelta(
            days=settings.TENANT_DELETION_GRACE_DAYS
        )
        tenant.save(update_fields=["status", "deletion_due_at"])
        audit.record(
            action="tenant.deletion_scheduled",
            tenant_id=tenant.pk,
            details={"deletion_due_at": tenant.deletion_due_at.isoformat()},
        )
        _status_changed(tenant=tenant, previous_status=previous_status)
    queries.forget_tenant(tenant)
    return tenant


def restore_tenant(*, tenant_id: int) -> Tenant:
    """Undo `schedule_tenant_deletion` while the schema is still there: active again."""
    with transaction.atomic():
        tenant = queries.get_claimed_tenant_for_update(tenant_id=tenant_id)
        if tenant.deletion_due_at is None:
            raise Conflict("This business is not being deleted.", code="not_scheduled_for_deletion")
        previous_status, tenant.status = tenant.status, Tenant.Status.ACTIVE
        tenant.deletion_due_at = None
        tenant.save(update_fields=["status", "deletion_due_at"])
        audit.record(action="tenant.restored", tenant_id=tenant.pk)
        _release_held_events(tenant=tenant)
        _status_changed(tenant=tenant, previous_status=previous_status)
    queries.forget_tenant(tenant)
    return tenant


def purge_deleted_tenants(*, now: datetime | None = None) -> int:
    """Drop every tenant whose grace period is over, each in its own transaction (one failure
    leaves the others done); returns how many were dropped. A tenant restored meanwhile is
    skipped: the due date is read again under the row lock."""
    now = now or timezone.now()
    dropped = 0
    due = Tenant.objects.filter(deletion_due_at__lte=now).order_by("deletion_due_at")
    for tenant_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            tenant = (
                Tenant.objects.select_for_update(of=("self",)).filter(pk=tenant_id, deletion_due_at__lte=now).first()
            )
            if tenant is None:
                continue
            _drop_tenant(tenant)
            audit.record(action="tenant.purged", tenant_id=tenant_id, target=f"tenant:{tenant.slug}")
        queries.forget_tenant(tenant)
        dropped += 1
    return dropped


def delete_tenant(*, tenant_id: int) -> None:
    """Delete a tenant, pooled or claimed, its schema and every public row that points at it,
    all or nothing, at once (tests, the pool, `delete_tenant --now`; businesses are deleted
    through `schedule_tenant_deletion`)."""
    with transaction.atomic():
        tenant = queries.get_tenant_for_update(tenant_id=tenant_id)
        _drop_tenant(tenant)
    queries.forget_tenant(tenant)


def _drop_tenant(tenant: Tenant) -> None:
    # Files first: a storage failure leaves the schema, and the next run tries both again.
    storage.delete_tenant_objects(schema_name=tenant.schema_name)
    drop_tenant_schema(schema_name=tenant.schema_name)
    OutboxMessage.objects.filter(schema_name=tenant.schema_name, published_at__isnull=True).delete()
    tenant.delete()
