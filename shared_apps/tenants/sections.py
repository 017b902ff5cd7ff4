"""Settings sections: each feature app's own part of a business's settings.

`Tenant` says who the business is (identity, zone, currency, country, status, profile). A
feature's settings (the SMS sender, the receptionist's greeting, business hours, document
prefixes) belong to the app that uses them: it keeps them in a one-row table in the tenant's
schema (`SettingsRow`), validates them and reacts to their change. It declares them here, in
its AppConfig.ready(), as a `SettingsSection`; `services.update_tenant_settings` and
`services.tenant_settings` compose the sections behind one `PATCH`/`GET /tenants/me`.
See docs/architecture.md, "Settings per app".
"""

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import time
from typing import Any, Self

import phonenumbers
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models
from django_tenants.utils import tenant_context

from shared_apps.errors import ValidationFailed
from shared_apps.tenants.models import Tenant


class SettingsRow(models.Model):
    """A section's settings in one tenant schema: at most one row. Until the business changes
    one of them there is no row, and `load` answers the defaults, so a pooled or new schema
    needs no data and provisioning stays DDL only."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)

    class Meta:
        abstract = True
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="%(app_label)s_%(class)s_one_row")]

    @classmethod
    def load(cls) -> Self:
        """The settings of the active tenant schema (one query), the defaults when unset."""
        return cls._default_manager.filter(pk=1).first() or cls()


Validator = Callable[[Any], Any]


def _no_rule(row: Any) -> None:
    return None


@dataclass(frozen=True)
class SettingsSection:
    """One app's settings: its row model, a validator per field (the field names are the API's
    and the model's), a rule across fields checked on the merged row before it is saved, and
    what to do once the changes are saved, in the same transaction (claim a provider route)."""

    name: str
    model: type[SettingsRow]
    validators: Mapping[str, Validator]
    check: Callable[[Any], None] = _no_rule
    on_saved: Callable[[Tenant, dict[str, Any]], None] | None = field(default=None)

    def values(self, row: SettingsRow) -> dict[str, Any]:
        return {name: getattr(row, name) for name in self.validators}


def load_rows(models: Sequence[type[SettingsRow]]) -> list[SettingsRow]:
    """Each model's row in the active schema, the defaults where there is none, in one query
    however many sections there are (GET /tenants/me costs as much with six as with one)."""
    if not models:
        return []
    tables = [connection.ops.quote_name(model._meta.db_table) for model in models]
    # Quoted names of our own tables, no input.
    columns = ", ".join(f"(SELECT to_jsonb(r) FROM {table} AS r WHERE r.id = 1)" for table in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}")
        stored = cursor.fetchone()
    return [_row(model, data) for model, data in zip(models, stored, strict=True)]


def _row(model: type[SettingsRow], data: str | dict[str, Any] | None) -> SettingsRow:
    if data is None:
        return model()
    values = json.loads(data) if isinstance(data, str) else data
    fields = model._meta.concrete_fields
    row = model(**{field.attname: field.to_python(values[field.column]) for field in fields})
    row._state.adding, row._state.db = False, connection.alias
    return row


_sections: dict[str, SettingsSection] = {}


def register_settings_section(section: SettingsSection) -> None:
    """Add an app's section (from its AppConfig.ready()); a field name belongs to one section."""
    if section.name in _sections:
        return
    taken = {name for other in _sections.values() for name in other.validators} & set(section.validators)
    if taken:
        raise ImproperlyConfigured(f"Settings {sorted(taken)} already belong to another section.")
    _sections[section.name] = section


def settings_sections() -> tuple[SettingsSection, ...]:
    """The registered sections, in registration (INSTALLED_APPS) order."""
    return tuple(_sections.values())


@contextmanager
def in_schema_of(tenant: Tenant) -> Iterator[None]:
    """Run in `tenant`'s schema: as is when it is already the active one (a tenant's request),
    switching otherwise (a command, a job of another schema)."""
    if connection.schema_name == tenant.schema_name:  # type: ignore[attr-defined]  # django-tenants
        yield
        return
    with tenant_context(tenant):
        yield


# Validators the sections share.


def invalid_setting(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed("Invalid tenant settings.", details=[{"field": field_name, "message": message}])


def bounded(field_name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise invalid_setting(field_name, f"Must be between {low} and {high}.")
    return value


def document_prefix(field_name: str, value: str) -> str:
    if not re.fullmatch(r"[A-Z0-9]{1,10}", value):
        raise invalid_setting(field_name, "1-10 uppercase letters or digits.")
    return value


def local_time(field_name: str, value: str) -> time:
    """A local wall time "HH:MM"."""
    try:
        if not re.fullmatch(r"\d{2}:\d{2}", value):
            raise ValueError(value)
        return time.fromisoformat(value)
    except ValueError:
        raise invalid_setting(field_name, 'A local time "HH:MM".') from None


def provider_id(field_name: str, value: Any) -> str:
    """An identifier a provider gave the business (a Vapi assistant); blank means none."""
    value = str(value or "").strip()
    if value and not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", value):
        raise invalid_setting(field_name, "Letters, digits and -_.: only.")
    return value


def international_number(value: str, *, field_name: str, message: str) -> str:
    """`value` in E.164 when it is a valid number in international form; blank means none."""
    value = value.strip()
    if not value:
        return ""
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise invalid_setting(field_name, message)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
