"""Free slots of a local day, in the tenant's time zone.

A slot is offered when it lies inside one of the day's business-hours intervals and its
blocked time (the slot plus half the buffer on each side, exactly what booking it would
store) overlaps no active appointment of the staff member, and the slot itself overlaps no
time off of theirs and no closed day of the business (what the guard triggers check), so
every slot offered can be booked unless someone else takes it first. Slots start every STEP of elapsed time from
each opening; slots that start before `now` are not offered.

Wall-clock times that do not exist or exist twice on DST change days:
- an opening or closing time inside the spring-forward gap means the instant the gap ends
  (2026-03-08 02:30 in New York -> 03:00 EDT);
- a wall time that occurs twice (fall back) opens at its first occurrence and closes at its
  second: the business is open whenever the wall clock reads a time within its hours.

Without a staff member, a slot is offered when at least one member of the business (owner,
admin or staff) is free; each slot lists who is.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared_apps.accounts.services import member_ids
from shared_apps.errors import ValidationFailed
from shared_apps.tenants.localtime import require_within_calendar, wall_clock_instant
from shared_apps.tenants.models import Tenant
from tenant_apps.appointments import queries
from tenant_apps.appointments.models import WEEKDAYS, AppointmentSettings, blocked_range
from tenant_apps.appointments.staff import require_staff

STEP = timedelta(minutes=15)


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    staff_ids: tuple[int, ...]


def business_intervals(
    *, day: date, hours: dict[str, list[list[str]]], zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The day's opening intervals as UTC instants (empty on closed days)."""
    intervals = []
    for opens, closes in hours.get(WEEKDAYS[day.weekday()], []):
        start = wall_clock_instant(day, time.fromisoformat(opens), zone)
        end = wall_clock_instant(day, time.fromisoformat(closes), zone, latest=True)
        if end > start:
            intervals.append((start, end))
    return intervals


def _overlaps(lower: datetime, upper: datetime, ranges: list[tuple[datetime, datetime]]) -> bool:
    return any(lower < until and since < upper for since, until in ranges)


def _staff_ids(*, tenant: Tenant, staff_id: int | None) -> list[int]:
    if staff_id is not None:
        require_staff(tenant=tenant, staff_id=staff_id)
        return [staff_id]
    return member_ids(tenant_id=tenant.pk)


def find_available_slots(
    *,
    tenant: Tenant,
    day: date,
    duration_minutes: int,
    staff_id: int | None = None,
    now: datetime,
    calendar: AppointmentSettings | None = None,
) -> list[Slot]:
    """Bookable slots of `duration_minutes` on the local `day`, in the tenant's zone. A caller
    asking for several days passes the `calendar` settings it read once."""
    require_within_calendar(day, field="date")
    calendar = calendar or AppointmentSettings.load()
    if not 1 <= duration_minutes <= calendar.max_appointment_minutes:
        raise ValidationFailed(
            "Invalid availability request.",
            details=[
                {
                    "field": "duration_minutes",
                    "message": f"Between 1 and {calendar.max_appointment_minutes} minutes.",
                }
            ],
        )
    zone = tenant.zone
    staff_ids = _staff_ids(tenant=tenant, staff_id=staff_id)
    intervals = business_intervals(day=day, hours=calendar.business_hours, zone=zone)
    if not intervals or not staff_ids:
        return []
    duration = timedelta(minutes=duration_minutes)
    buffer_minutes = calendar.appointment_buffer_minutes
    window = blocked_range(starts_at=intervals[0][0], ends_at=intervals[-1][1], buffer_minutes=buffer_minutes)
    busy: dict[int, list[tuple[datetime, datetime]]] = {member: [] for member in staff_ids}
    for member, lower, upper in queries.busy_ranges(window=window, staff_ids=staff_ids):
        busy[member].append((lower, upper))
    time_off, closed = queries.unavailable_ranges(window=window, staff_ids=staff_ids)
    off: dict[int, list[tuple[datetime, datetime]]] = {member: [] for member in staff_ids}
    for member, lower, upper in time_off:
        off[member].append((lower, upper))

    slots = []
    for opens, closes in intervals:
        start = opens
        while start + duration <= closes:
            end = start + duration
            if start >= now and not _overlaps(start, end, closed):
                blocked = blocked_range(starts_at=start, ends_at=end, buffer_minutes=buffer_minutes)
                free = tuple(
                    member
                    for member in staff_ids
                    if not _overlaps(blocked.lower, blocked.upper, busy[member])
                    and not _overlaps(start, end, off[member])
                )
                if free:
                    slots.append(Slot(start.astimezone(zone), end.astimezone(zone), free))
            start += STEP
    return slots
