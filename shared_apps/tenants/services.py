"""The rules for tenants: identity, settings, suspension and deletion."""

import re
import zoneinfo
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import phonenumbers
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
from shared_apps.tenants.models import WEEKDAYS, Domain, Tenant
from shared_apps.tenants.provisioning import claim_or_create_tenant_schema, drop_tenant_schema

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


def validate_business_hours(value: dict[str, Any]) -> dict[str, list[list[str]]]:
    """`{"mon": [["09:00", "12:00"], ["13:00", "17:00"]], ..., "sun": []}`: local times,
    intervals in order and not overlapping; a missing or empty day is closed."""
    unknown = set(value) - set(WEEKDAYS)
    if unknown:
        raise ValidationFailed(
            "Invalid business hours.",
            details=[{"field": "business_hours", "message": f"Unknown day(s): {', '.join(sorted(unknown))}."}],
        )
    cleaned: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        intervals = value.get(day) or []
        previous_end: time | None = None
        cleaned[day] = []
        for interval in intervals:
            if not isinstance(interval, list | tuple) or len(interval) != 2:
                raise ValidationFailed(
                    "Invalid business hours.",
                    details=[{"field": f"business_hours.{day}", "message": 'Each interval is ["HH:MM", "HH:MM"].'}],
                )
            # Local wall times only: an offset ("09:00+05:00") or seconds have no meaning here.
            start, end = (_local_time(f"business_hours.{day}", part) for part in interval)
            if start >= end or (previous_end is not None and start < previous_end):
                raise ValidationFailed(
                    "Invalid business hours.",
                    details=[
                        {
                            "field": f"business_hours.{day}",
                            "message": "Intervals must start before they end, in order, without overlap.",
                        }
                    ],
                )
            previous_end = end
            cleaned[day].append([start.strftime("%H:%M"), end.strftime("%H:%M")])
    return cleaned


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


# Settings a tenant's owner or admin may change, with their validators.
_SETTING_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "name": lambda value: str(value).strip() or _required("name"),
    "timezone": validate_timezone,
    "currency": validate_currency,
    "country": validate_country,
    "business_hours": validate_business_hours,
    "appointment_buffer_minutes": lambda value: _bounded("appointment_buffer_minutes", value, 0, 240),
    "max_appointment_minutes": lambda value: _bounded("max_appointment_minutes", value, 5, 24 * 60),
    "payment_terms_days": lambda value: _bounded("payment_terms_days", value, 0, 365),
    "quote_validity_days": lambda value: _bounded("quote_validity_days", value, 1, 365),
    "quote_prefix": lambda value: _prefix("quote_prefix", value),
    "invoice_prefix": lambda value: _prefix("invoice_prefix", value),
    "sms_sender": lambda value: validate_sms_sender(value or ""),
    "vapi_assistant_id": lambda value: _provider_id("vapi_assistant_id", value),
    "vapi_phone_number_id": lambda value: _provider_id("vapi_phone_number_id", value),
    "voice_greeting": lambda value: str(value or "").strip(),
    "voice_record_calls": bool,
    "sms_booking_confirmation": bool,
    "sms_reminders": bool,
    "sms_reminder_hours": lambda value: validate_reminder_hours(value),
    "payment_reminder_days": lambda value: validate_payment_reminder_days(value),
    "sms_quote_sent": bool,
    "sms_invoice_sent": bool,
    "address": lambda value: validate_contact_address(value),
    "phone": lambda value: validate_contact_phone(value),
    "email": lambda value: validate_contact_email(value),
    "tax_id": lambda value: validate_tax_id(value),
    "brand_color": lambda value: validate_brand_color(value),
    "quiet_hours_start": lambda value: _local_time("quiet_hours_start", value),
    "quiet_hours_end": lambda value: _local_time("quiet_hours_end", value),
}
# Reminders go at most a week ahead, and a handful per appointment.
MAX_REMINDER_HOURS = 7 * 24
MAX_REMINDERS = 4


# Dunning: a few steps, within a year past due.
MAX_PAYMENT_REMINDER_DAYS = 365
MAX_PAYMENT_REMINDERS = 5


def validate_payment_reminder_days(value: list[int]) -> list[int]:
    """Distinct days past due (1 to a year) on which an unpaid invoice's customer is texted,
    at most MAX_PAYMENT_REMINDERS, kept in order ([1, 7, 14]); empty turns dunning off."""
    if (
        len(value) > MAX_PAYMENT_REMINDERS
        or len(set(value)) != len(value)
        or not all(1 <= days <= MAX_PAYMENT_REMINDER_DAYS for days in value)
    ):
        raise ValidationFailed(
            "Invalid payment reminder days.",
            details=[
                {
                    "field": "payment_reminder_days",
                    "message": f"At most {MAX_PAYMENT_REMINDERS} distinct days, each 1 to {MAX_PAYMENT_REMINDER_DAYS}.",
                }
            ],
        )
    return sorted(value)


def validate_reminder_hours(value: list[int]) -> list[int]:
    """Distinct whole hours before an appointment, 1 to a week, at most MAX_REMINDERS; kept
    latest-first ([24, 2])."""
    if (
        len(value) > MAX_REMINDERS
        or len(set(value)) != len(value)
        or not all(1 <= hours <= MAX_REMINDER_HOURS for hours in value)
    ):
        raise ValidationFailed(
            "Invalid tenant settings.",
            details=[
                {
                    "field": "sms_reminder_hours",
                    "message": f"At most {MAX_REMINDERS} distinct whole hours, each 1 to {MAX_REMINDER_HOURS}.",
                }
            ],
        )
    return sorted(value, reverse=True)


# Called with the tenant and the settings just saved, in the same transaction, so an app
# above tenants reacts to a setting it owns (webhooks claims the provider routes of a sender
# number or a Vapi id). Registered in that app's AppConfig.ready().
SettingsHook = Callable[[Tenant, dict[str, Any]], None]
_settings_hooks: list[SettingsHook] = []


def register_settings_hook(hook: SettingsHook) -> None:
    """Call `hook` after every saved change of a tenant's settings (once per hook)."""
    if hook not in _settings_hooks:
        _settings_hooks.append(hook)


def _provider_id(field: str, value: Any) -> str:
    value = str(value or "").strip()
    if value and not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", value):
        raise ValidationFailed(
            "Invalid tenant settings.", details=[{"field": field, "message": "Letters, digits and -_.: only."}]
        )
    return value


def _local_time(field: str, value: str) -> time:
    """A local wall time "HH:MM"."""
    try:
        if not re.fullmatch(r"\d{2}:\d{2}", value):
            raise ValueError(value)
        return time.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            "Invalid tenant settings.", details=[{"field": field, "message": 'A local time "HH:MM".'}]
        ) from None


def _international_number(value: str, *, field: str, message: str) -> str:
    """`value` in E.164 when it is a valid number in international form; blank means none."""
    value = value.strip()
    if not value:
        return ""
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise _invalid_setting(field, message)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validate_sms_sender(value: str) -> str:
    """A Twilio sender number in E.164 ("+12025550143"); blank means none."""
    return _international_number(value, field="sms_sender", message="An E.164 phone number, such as +12025550143.")


# What fits the header of a printed quote or invoice.
MAX_ADDRESS_LINES = 5
MAX_ADDRESS_CHARS = 500


def _invalid_setting(field: str, message: str) -> ValidationFailed:
    return ValidationFailed("Invalid tenant settings.", details=[{"field": field, "message": message}])


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
        raise _invalid_setting("brand_color", 'A hex colour such as "#1A73E8".')
    digits = value[1:] if len(value) == 7 else "".join(char * 2 for char in value[1:])
    return f"#{digits.upper()}"


def validate_contact_phone(value: str) -> str:
    """The business's phone number in international form, stored E.164; blank means none."""
    return _international_number(
        value, field="phone", message="A phone number in international form, such as +1 202 555 0123."
    )


def validate_contact_email(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    try:
        validate_email(value)
    except DjangoValidationError:
        raise _invalid_setting("email", "Not a valid email.") from None
    return value


def validate_tax_id(value: str) -> str:
    """A VAT, EIN, ABN... number as the business writes it: letters, digits, spaces and -./"""
    value = " ".join(value.split())
    if value and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ./-]{0,49}", value):
        raise _invalid_setting("tax_id", "At most 50 letters, digits, spaces and - . / characters.")
    return value


def _required(field: str) -> str:
    raise ValidationFailed("Invalid tenant settings.", details=[{"field": field, "message": "Must not be blank."}])


def _bounded(field: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValidationFailed(
            "Invalid tenant settings.", details=[{"field": field, "message": f"Must be between {low} and {high}."}]
        )
    return value


def _prefix(field: str, value: str) -> str:
    if not re.fullmatch(r"[A-Z0-9]{1,10}", value):
        raise ValidationFailed(
            "Invalid tenant settings.",
            details=[{"field": field, "message": "1-10 uppercase letters or digits."}],
        )
    return value


def update_tenant_settings(*, tenant_id: int, changes: dict[str, Any]) -> Tenant:
    """Validate and save the given settings; unknown keys are refused."""
    unknown = set(changes) - set(_SETTING_VALIDATORS)
    if unknown:
        raise ValidationFailed(
            "Unknown settings.", details=[{"field": field, "message": "Not a tenant setting."} for field in unknown]
        )
    cleaned = {field: _SETTING_VALIDATORS[field](value) for field, value in changes.items()}
    with transaction.atomic():
        tenant = queries.get_tenant_for_update(tenant_id=tenant_id)
        before = {field: getattr(tenant, field) for field in cleaned}
        for field, value in cleaned.items():
            setattr(tenant, field, value)
        if tenant.quiet_hours_start == tenant.quiet_hours_end:
            raise ValidationFailed(
                "Invalid tenant settings.",
                details=[{"field": "quiet_hours_end", "message": "Quiet hours must start and end at different times."}],
            )
        if cleaned:
            tenant.save(update_fields=list(cleaned))
        changed = audit.changed_fields(before=before, after=cleaned)
        if changed:
            audit.record(action="tenant.settings_changed", tenant_id=tenant.pk, details={"changed": changed})
        if "timezone" in cleaned:
            daily_jobs.reschedule_daily_jobs(tenant=tenant)
        for hook in _settings_hooks:
            hook(tenant, cleaned)
    queries.forget_tenant(tenant)
    return tenant


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
