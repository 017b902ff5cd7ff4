"""Which automatic texts the business sends: its part of the business's settings
(shared_apps/tenants/sections.py)."""

from shared_apps.errors import ValidationFailed
from shared_apps.tenants.sections import SettingsSection, invalid_setting
from tenant_apps.notifications.models import NotificationSettings

# Reminders go at most a week ahead, and a handful per appointment.
MAX_REMINDER_HOURS = 7 * 24
MAX_REMINDERS = 4
# Dunning: a few steps, within a year past due.
MAX_PAYMENT_REMINDER_DAYS = 365
MAX_PAYMENT_REMINDERS = 5


def validate_reminder_hours(value: list[int]) -> list[int]:
    """Distinct whole hours before an appointment, 1 to a week, at most MAX_REMINDERS; kept
    latest-first ([24, 2])."""
    if (
        len(value) > MAX_REMINDERS
        or len(set(value)) != len(value)
        or not all(1 <= hours <= MAX_REMINDER_HOURS for hours in value)
    ):
        raise invalid_setting(
            "sms_reminder_hours", f"At most {MAX_REMINDERS} distinct whole hours, each 1 to {MAX_REMINDER_HOURS}."
        )
    return sorted(value, reverse=True)


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


SECTION = SettingsSection(
    name="notifications",
    model=NotificationSettings,
    validators={
        "sms_booking_confirmation": bool,
        "sms_reminders": bool,
        "sms_reminder_hours": validate_reminder_hours,
        "sms_quote_sent": bool,
        "sms_invoice_sent": bool,
        "payment_reminder_days": validate_payment_reminder_days,
    },
)
