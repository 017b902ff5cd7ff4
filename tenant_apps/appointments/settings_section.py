"""The calendar's part of the business's settings (shared_apps/tenants/sections.py): opening
hours, the buffer between appointments, the longest appointment, and online booking."""

from datetime import time
from typing import Any

from shared_apps.errors import ValidationFailed
from shared_apps.tenants.sections import SettingsSection, bounded, local_time
from tenant_apps.appointments.models import WEEKDAYS, AppointmentSettings


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
            start, end = (local_time(f"business_hours.{day}", part) for part in interval)
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


SECTION = SettingsSection(
    name="appointments",
    model=AppointmentSettings,
    validators={
        "business_hours": validate_business_hours,
        "appointment_buffer_minutes": lambda value: bounded("appointment_buffer_minutes", value, 0, 240),
        "max_appointment_minutes": lambda value: bounded("max_appointment_minutes", value, 5, 24 * 60),
        "online_booking_confirm_first": bool,
        "online_booking_days_ahead": lambda value: bounded("online_booking_days_ahead", value, 1, 365),
    },
)
