"""Each app's settings section behind one /tenants/me: the registry, the copy of the values
that used to live on the Tenant row, and concurrent changes of several sections."""

import importlib
import json
from datetime import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from shared_apps.tenants import sections
from shared_apps.tenants.sections import SettingsSection, register_settings_section, settings_sections
from shared_apps.tenants.services import tenant_settings
from tenant_apps.sms.models import SmsSettings
from tests.concurrency import run_at_once

# Each app's data migration, which copies its settings out of the carried-over Tenant row.
COPY_MIGRATIONS = (
    "tenant_apps.appointments.migrations.0007_copy_settings_from_tenant",
    "tenant_apps.quotes.migrations.0004_copy_settings_from_tenant",
    "tenant_apps.invoices.migrations.0007_copy_settings_from_tenant",
    "tenant_apps.sms.migrations.0012_copy_settings_from_tenant",
    "tenant_apps.voice.migrations.0004_copy_settings_from_tenant",
    "tenant_apps.notifications.migrations.0003_copy_settings_from_tenant",
)
# A Tenant row as tenants' migration 0011 carried it over (PostgreSQL's to_jsonb of the row),
# with every feature setting away from its default.
OLD_TENANT_ROW = {
    "id": 1,
    "slug": "old",
    "business_hours": {"mon": [["08:00", "12:00"]], "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []},
    "appointment_buffer_minutes": 15,
    "max_appointment_minutes": 120,
    "payment_terms_days": 30,
    "quote_validity_days": 7,
    "quote_prefix": "EST",
    "invoice_prefix": "BILL",
    "sms_sender": "+12025550143",
    "vapi_assistant_id": "asst_1",
    "vapi_phone_number_id": "pn_1",
    "voice_greeting": "Hello from Old Co.",
    "voice_record_calls": True,
    "sms_booking_confirmation": False,
    "sms_reminders": False,
    "sms_reminder_hours": [48, 3],
    "sms_quote_sent": False,
    "sms_invoice_sent": False,
    "payment_reminder_days": [2, 9],
    "quiet_hours_start": "22:30:00",
    "quiet_hours_end": "06:45:00",
}


def test_every_feature_setting_is_copied_from_the_carried_over_tenant_row(tenant_a):
    with tenant_a.schema(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tenants_settings_carryover (schema_name, settings) VALUES (%s, %s::jsonb)",
            [tenant_a.tenant.schema_name, json.dumps(OLD_TENANT_ROW)],
        )
        for module in COPY_MIGRATIONS:
            cursor.execute(importlib.import_module(module).COPY)

    copied = tenant_settings(tenant=tenant_a.tenant)

    expected = {name: value for name, value in OLD_TENANT_ROW.items() if name not in ("id", "slug")}
    expected |= {"quiet_hours_start": time(22, 30), "quiet_hours_end": time(6, 45)}
    assert {name: copied[name] for name in expected} == expected


def test_a_schema_without_a_carried_over_row_keeps_the_defaults(tenant_a):
    with tenant_a.schema(), connection.cursor() as cursor:
        for module in COPY_MIGRATIONS:
            cursor.execute(importlib.import_module(module).COPY)

    assert tenant_settings(tenant=tenant_a.tenant)["quiet_hours_start"] == time(21, 0)
    with tenant_a.schema():
        assert not SmsSettings.objects.exists()


def test_a_setting_belongs_to_one_section(monkeypatch):
    monkeypatch.setattr(sections, "_sections", dict(sections._sections))
    thief = SettingsSection(name="thief", model=SmsSettings, validators={"sms_sender": str})

    with pytest.raises(ImproperlyConfigured):
        register_settings_section(thief)
    assert "thief" not in {section.name for section in settings_sections()}


@pytest.mark.concurrency
def test_concurrent_changes_of_several_sections_lose_nothing(committed_tenant):
    """Three PATCHes at once, two of them on the same (not yet stored) section row: the
    Tenant row's lock puts them in turn, so each sees the others' committed changes."""
    changes = [
        {"quiet_hours_start": "22:00", "quote_prefix": "EST"},
        {"quiet_hours_end": "07:00", "sms_reminders": False},
        {"sms_sender": "+12025550177", "invoice_prefix": "BILL", "name": "Renamed"},
    ]
    api = committed_tenant.api()

    statuses = run_at_once([lambda change=change: api.patch("/tenants/me", change).status_code for change in changes])

    assert statuses == [200, 200, 200]
    stored = committed_tenant.api().get("/tenants/me").json()
    assert {name: stored[name] for change in changes for name in change} == {
        name: value for change in changes for name, value in change.items()
    }
