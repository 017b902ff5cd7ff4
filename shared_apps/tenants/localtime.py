"""Wall-clock arithmetic in a tenant's zone (`Tenant.zone`): the instants at which its clocks read a
given time, across DST gaps and repeated hours. Reminders, quiet hours, daily jobs and business
hours go through here."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared_apps.errors import ValidationFailed

# The calendar's span: dates and times outside it are refused where they come in (API schemas,
# the appointment services, the voice tools). Far enough from datetime's own limits (years 1
# and 9999) that a zone's offset, a buffer, a duration or weeks of look-ahead never overflow.
FIRST_CALENDAR_DAY = date(1900, 1, 1)
LAST_CALENDAR_DAY = date(8999, 12, 31)

# Real DST gaps are at most two hours; a safety bound for the search below.
_MAX_GAP_MINUTES = 180


def within_calendar(value: date | datetime) -> bool:
    """Whether a date, or a time's own calendar date (in the offset it was given with), lies in
    FIRST_CALENDAR_DAY..LAST_CALENDAR_DAY. Never converts, so it never overflows."""
    day = value.date() if isinstance(value, datetime) else value
    return FIRST_CALENDAR_DAY <= day <= LAST_CALENDAR_DAY


CALENDAR_SPAN_MESSAGE = f"Must be between {FIRST_CALENDAR_DAY} and {LAST_CALENDAR_DAY}."


def require_within_calendar(value: date | datetime, *, field: str) -> None:
    """ValidationFailed (400, a tool error on the phone) for a date or time outside the calendar."""
    if not within_calendar(value):
        raise ValidationFailed(
            "Date outside the calendar.", details=[{"field": field, "message": CALENDAR_SPAN_MESSAGE}]
        )


def _exists(moment: datetime, zone: ZoneInfo) -> bool:
    return moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == moment.replace(tzinfo=None)


def wall_clock_instant(day: date, wall: time, zone: ZoneInfo, *, latest: bool = False) -> datetime:
    """The UTC instant at which clocks in `zone` read `wall` on `day`. An ambiguous time gives
    its first occurrence (its second with `latest`); a time in a DST gap gives the instant the
    gap ends."""
    naive = datetime.combine(day, wall)
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if _exists(first, zone):
        return (second if latest and _exists(second, zone) else first).astimezone(UTC)
    # In a gap, fold=1 reads the wall time with the offset after the change, which is the
    # earlier instant, still before the change; walk forward to the change itself.
    moment = second.astimezone(UTC)
    offset_before = moment.astimezone(zone).utcoffset()
    for _ in range(_MAX_GAP_MINUTES):
        moment += timedelta(minutes=1)
        if moment.astimezone(zone).utcoffset() != offset_before:
            return moment
    return first.astimezone(UTC)  # pragma: no cover - no zone has such a gap


def next_wall_clock_instant(*, after: datetime, wall: time, zone: ZoneInfo) -> datetime:
    """The first instant strictly after `after` at which clocks in `zone` read `wall` (the
    first occurrence when it occurs twice; the gap's end when it does not occur that day)."""
    day = after.astimezone(zone).date()
    candidate = wall_clock_instant(day, wall, zone)
    while candidate <= after:
        day += timedelta(days=1)
        candidate = wall_clock_instant(day, wall, zone)
    return candidate
