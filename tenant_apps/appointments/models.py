"""Appointments and calendar feeds (tenant schema)."""

from datetime import datetime, timedelta

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import models
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from shared_apps.tenants.sections import SettingsRow

# An appointment still to happen (or happening): it holds its staff member's time (the
# double-booking constraint reads this too), may be rescheduled, and gets confirmations and
# reminders.
ACTIVE_STATUSES = ("SCHEDULED", "CONFIRMED", "IN_PROGRESS")


def blocked_range(*, starts_at: datetime, ends_at: datetime, buffer_minutes: int) -> DateTimeTZRange:
    """What an appointment blocks: itself plus half the buffer on each side, half-open (the
    value of `blocked_during`, and what availability checks a slot against)."""
    half = timedelta(seconds=buffer_minutes * 30)
    return DateTimeTZRange(starts_at - half, ends_at + half, "[)")


class Appointment(models.Model):
    """A booked visit of a customer, optionally assigned to a staff member (a user id from the
    public schema). `blocked_during` is the time the staff member is unavailable: the
    appointment plus half the tenant's buffer on each side, fixed when it is written, so any
    two appointments of one staff member end up at least one buffer apart. PostgreSQL refuses
    overlapping active appointments itself (`appointment_no_double_booking`)."""

    class Status(models.TextChoices):
        SCHEDULED = "SCHEDULED", "Scheduled"
        CONFIRMED = "CONFIRMED", "Confirmed"
        IN_PROGRESS = "IN_PROGRESS", "In progress"
        COMPLETED = "COMPLETED", "Completed"
        NO_SHOW = "NO_SHOW", "No-show"
        CANCELLED = "CANCELLED", "Cancelled"

    ACTIVE_STATUSES = ACTIVE_STATUSES

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="appointments")
    # Where the visit is: one of the customer's properties (services check it is theirs).
    service_property = models.ForeignKey(
        "customers.Property", null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    staff_id = models.BigIntegerField(null=True, blank=True, help_text="accounts.User id (public schema)")
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    blocked_during = DateTimeRangeField(help_text="[starts - buffer/2, ends + buffer/2)")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    notes = models.TextField(blank=True)
    cancel_reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("starts_at", "id")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="appointment_ends_after_start"),
            ExclusionConstraint(
                name="appointment_no_double_booking",
                index_type="gist",
                expressions=[("staff_id", RangeOperators.EQUAL), ("blocked_during", RangeOperators.OVERLAPS)],
                condition=Q(status__in=ACTIVE_STATUSES, staff_id__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["starts_at", "id"], name="appointment_starts"),
            models.Index(fields=["customer", "-starts_at"], name="appointment_customer_starts"),
            models.Index(fields=["staff_id", "starts_at"], name="appointment_staff_starts"),
        ]

    def __str__(self) -> str:
        return f"{self.title} at {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class CalendarFeed(models.Model):
    """A secret iCalendar feed URL: the whole business's calendar (staff_id null) or one staff
    member's. Only a SHA-256 digest of the secret is kept; rotating replaces it, so the old URL
    stops working at once."""

    staff_id = models.BigIntegerField(null=True, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # One feed per scope; the tenant-wide feed has no staff id (0 stands in for it).
            models.UniqueConstraint(Coalesce("staff_id", Value(0)), name="calendar_feed_one_per_scope"),
        ]

    def __str__(self) -> str:
        return f"feed staff={self.staff_id}"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def default_business_hours() -> dict[str, list[list[str]]]:
    """Monday to Friday 09:00-17:00 local time; weekends closed."""
    return {day: ([["09:00", "17:00"]] if day not in ("sat", "sun") else []) for day in WEEKDAYS}


class AppointmentSettings(SettingsRow):
    """The calendar's settings: opening hours per weekday (local times), the gap kept between
    a staff member's appointments, the longest appointment, and how customers book online:
    straight into the calendar or as requests staff accept first, and how many local days
    ahead they may book."""

    business_hours = models.JSONField(default=default_business_hours)
    appointment_buffer_minutes = models.PositiveIntegerField(default=0)
    max_appointment_minutes = models.PositiveIntegerField(default=480)
    # Database defaults too: rows written by SQL (the settings carried over from the tenant
    # row, written before these fields existed) get them.
    online_booking_confirm_first = models.BooleanField(default=False, db_default=False)
    online_booking_days_ahead = models.PositiveIntegerField(default=30, db_default=30)


class HeldTime(models.Model):
    """What time off and closed days share: the held period `[starts_at, ends_at)` that the
    guard triggers compare appointments with, a reason, who wrote it, and a version."""

    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_by_id = models.BigIntegerField()
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TimeOff(HeldTime):
    """A staff member away for `[starts_at, ends_at)`: no active appointment of theirs may
    overlap it. PostgreSQL enforces it both ways (triggers `appointment_respects_time_off`
    and `time_off_respects_appointments`, serialised per staff member by an advisory lock),
    so a booking and a time off written at the same moment cannot both win."""

    staff_id = models.BigIntegerField(help_text="accounts.User id (public schema)")

    class Meta:
        ordering = ("starts_at", "id")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="time_off_ends_after_start"),
        ]
        indexes = [models.Index(fields=["staff_id", "starts_at"], name="time_off_staff_starts")]

    def __str__(self) -> str:
        return f"time off of {self.staff_id} from {self.starts_at:%Y-%m-%d %H:%M}"


class ClosedDay(HeldTime):
    """The business closed on the local days `starts_on`..`ends_on` (a holiday, a one-off
    closure). `starts_at`/`ends_at` are those days' bounds in the tenant's zone when it was
    written (local midnight to the midnight after `ends_on`); no active appointment, of anyone
    or no one, may overlap them (PostgreSQL enforces it like time off)."""

    starts_on = models.DateField()
    ends_on = models.DateField()

    class Meta:
        ordering = ("starts_on", "id")
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="closed_day_ends_on_or_after_start"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="closed_day_ends_after_start"),
        ]
        indexes = [models.Index(fields=["starts_at"], name="closed_day_starts")]

    def __str__(self) -> str:
        return f"closed {self.starts_on}..{self.ends_on}"


class AppointmentSeries(models.Model):
    """Recurring visits: an RFC 5545 RRULE (`rrule`, without the `RRULE:` prefix) whose
    DTSTART is the wall-clock time `local_start` on `starts_on` in the tenant's zone, so a
    visit keeps its local time across DST. Occurrences are materialised as ordinary
    appointments up to `materialised_until` (a local day), a bounded horizon ahead."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        ENDED = "ENDED", "Ended"

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="appointment_series")
    # Where the visits are: one of the customer's properties, given to every visit.
    service_property = models.ForeignKey(
        "customers.Property", null=True, blank=True, on_delete=models.PROTECT, related_name="appointment_series"
    )
    staff_id = models.BigIntegerField(null=True, blank=True, help_text="accounts.User id (public schema)")
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    rrule = models.CharField(max_length=500)
    starts_on = models.DateField()
    local_start = models.TimeField()
    duration_minutes = models.PositiveIntegerField()
    materialised_until = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    # The series this one was split from ("this and following").
    split_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("id",)
        indexes = [models.Index(fields=["status", "materialised_until"], name="series_due")]

    def __str__(self) -> str:
        return f"{self.title} ({self.rrule})"


class SeriesOccurrence(models.Model):
    """One local day the series' rule gives, materialised once (unique per series and day):
    BOOKED with its appointment, or CONFLICT when the visit could not be booked or moved
    (`conflict` says why: code, message and what it clashed with). A conflict is retried by
    the horizon job and kept visible until then, never skipped silently."""

    class Status(models.TextChoices):
        BOOKED = "BOOKED", "Booked"
        CONFLICT = "CONFLICT", "Conflict"

    series = models.ForeignKey(AppointmentSeries, on_delete=models.CASCADE, related_name="occurrences")
    local_date = models.DateField()
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="occurrence"
    )
    status = models.CharField(max_length=8, choices=Status.choices)
    conflict = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("local_date", "id")
        constraints = [
            models.UniqueConstraint(fields=["series", "local_date"], name="series_occurrence_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.series_id} on {self.local_date}: {self.status}"
