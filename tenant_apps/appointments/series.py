"""Recurring visits: an appointment series with an RFC 5545 rule, booked ahead as ordinary
appointments (so double-booking, time off, closed days, reminders, the calendar feed and the
receptionist all treat them like any other visit).

- The rule's DTSTART is the wall-clock time of the first visit in the tenant's zone: a 09:00
  visit stays at 09:00 local across DST (the instant moves). A rule gives at most one visit a
  day (FREQ DAILY, WEEKLY, MONTHLY or YEARLY; the parts in ALLOWED_PARTS, bounded), so a visit
  is known by its local day (RECURRENCE-ID's date), unique per series.
- Visits are materialised from the rule up to the horizon (today + APPOINTMENT_SERIES_HORIZON_DAYS,
  local) when the series is made or changed, and by the daily job, which moves the horizon on
  and retries conflicts. Days already materialised are skipped, under a lock on the series row
  and a unique constraint, so running it twice, or twice at once, books nothing twice.
- A visit that cannot be booked (another booking, time off, a closed day...) is stored as a
  CONFLICT occurrence with the refusal's code, message and details, emits
  `appointment_series.occurrence_conflict`, and is retried by the daily job while ahead.
- Edits: one visit is an ordinary appointment (PATCH or DELETE /appointments/{id}); "all"
  applies the change to every visit from today on; "following" splits the series at a visit's
  day: the old series ends the day before (UNTIL), a new one carries the change from that day
  on (with what is left of a COUNT) and takes over the visits from there. Re-planning moves each
  upcoming active visit still given by the rule to its new time (a refusal keeps it where it
  was and marks the occurrence CONFLICT), cancels upcoming visits the rule no longer gives, and
  leaves visits that started, finished or were cancelled one by one as they are.
"""

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from dateutil.rrule import rrule, rrulestr
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shared_apps.errors import Conflict, DomainError, NotFound, StaleVersion, ValidationFailed
from shared_apps.events.services import emit
from shared_apps.tenants.localtime import wall_clock_instant
from shared_apps.tenants.models import Tenant
from tenant_apps.appointments import services
from tenant_apps.appointments.models import Appointment, AppointmentSeries, AppointmentSettings, SeriesOccurrence
from tenant_apps.customers.services import require_customers_property

Status = AppointmentSeries.Status
Occurrence = SeriesOccurrence.Status

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
# The parts a series' rule may use. BYHOUR, BYMINUTE and BYSECOND would give several visits a
# day; BYYEARDAY, BYWEEKNO and BYSETPOS are left out, with the bounds below, so that no rule
# makes dateutil search millennia for a day that never comes (a daily rule for 30 February).
ALLOWED_PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTH", "BYMONTHDAY", "WKST")
WEEKDAY = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
NUMBER_BOUNDS = {"INTERVAL": (1, 1000), "COUNT": (1, 10000), "BYMONTH": (1, 12), "BYMONTHDAY": (-31, 31)}
LONGEST_MONTH = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}
SCOPES = ("all", "following")
EDITABLE = {"title", "notes", "staff_id", "property_id", "local_start", "duration_minutes", "rrule"}
REMOVED_REASON = "No longer in the series"
ENDED_REASON = "The series was stopped"


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed("Invalid series.", details=[{"field": field, "message": message}])


def horizon(*, tenant: Tenant, now: datetime) -> date:
    """The last local day visits are booked for."""
    return tenant.local_date(now) + timedelta(days=settings.APPOINTMENT_SERIES_HORIZON_DAYS)


def _parts(value: str) -> list[tuple[str, str]]:
    parts = []
    for part in value.split(";"):
        name, sep, part_value = part.partition("=")
        if not sep or not name or not part_value:
            raise _invalid("rrule", "Write it as NAME=VALUE pairs separated by ';', e.g. FREQ=WEEKLY;BYDAY=MO.")
        parts.append((name, part_value))
    return parts


def _numbers(name: str, value: str) -> list[int]:
    low, high = NUMBER_BOUNDS[name]
    try:
        numbers = [int(part) for part in value.split(",")]
    except ValueError:
        raise _invalid("rrule", f"{name} takes whole numbers.") from None
    if not all(low <= number <= high and number != 0 for number in numbers):
        raise _invalid("rrule", f"{name} takes numbers from {low} to {high} (not 0).")
    return numbers


def normalise_rule(value: str) -> str:
    """The rule upper-cased, without `RRULE:`, checked against what a series allows."""
    rule = value.strip().upper().removeprefix("RRULE:")
    parts = dict(_parts(rule))
    if parts.get("FREQ") not in FREQUENCIES:
        raise _invalid("rrule", f"FREQ must be one of {', '.join(FREQUENCIES)}.")
    refused = [name for name in parts if name not in ALLOWED_PARTS]
    if refused:
        raise _invalid("rrule", f"{refused[0]} is not allowed; a series may use {', '.join(ALLOWED_PARTS)}.")
    if "UNTIL" in parts and parts["UNTIL"].endswith("Z"):
        raise _invalid("rrule", "UNTIL is a local date or time of the business (no Z), like DTSTART.")
    numbers = {name: _numbers(name, parts[name]) for name in NUMBER_BOUNDS if name in parts}
    months = numbers.get("BYMONTH", list(LONGEST_MONTH))
    days = [abs(day) for day in numbers.get("BYMONTHDAY", [1])]
    if not any(day <= LONGEST_MONTH[month] for month in months for day in days):
        raise _invalid("rrule", "BYMONTHDAY names no day of the months the rule allows.")
    _check_weekdays(parts)
    return rule


def _check_weekdays(parts: dict[str, str]) -> None:
    """BYDAY: weekdays, numbered (`2MO`, `-1FR`) at most 5 within a month, 53 within a year;
    never numbered together with BYMONTHDAY (the 5th Monday that is a 1st never comes)."""
    if "BYDAY" not in parts:
        return
    within_month = parts["FREQ"] == "MONTHLY" or "BYMONTH" in parts
    highest = 5 if within_month else 53
    for entry in parts["BYDAY"].split(","):
        found = WEEKDAY.fullmatch(entry)
        if found is None:
            raise _invalid("rrule", f"BYDAY takes weekdays such as MO or 2MO, not {entry[:20]}.")
        if found.group(1) is None:
            continue
        if not 1 <= abs(int(found.group(1))) <= highest:
            raise _invalid("rrule", f"A numbered BYDAY counts from 1 to {highest} (or back from -1).")
        if "BYMONTHDAY" in parts:
            raise _invalid("rrule", "A numbered BYDAY cannot be combined with BYMONTHDAY.")


def _with_parts(rule: str, **changes: str | None) -> str:
    """The rule with parts set (a value) or removed (None), order kept."""
    parts = [(name, value) for name, value in _parts(rule) if name not in changes]
    parts += [(name, value) for name, value in changes.items() if value is not None]
    return ";".join(f"{name}={value}" for name, value in parts)


def _rule(*, rule: str, starts_on: date, local_start: time) -> rrule:
    try:
        parsed = rrulestr(f"RRULE:{rule}", dtstart=datetime.combine(starts_on, local_start))
    except (ValueError, TypeError) as error:
        raise _invalid("rrule", f"Not a valid RFC 5545 rule: {error}.") from None
    assert isinstance(parsed, rrule)  # a single RRULE line parses to one rule, never a set
    return parsed


def occurrence_days(series: AppointmentSeries, *, first: date, last: date) -> list[date]:
    """The local days of `series`' visits from `first` to `last`, inclusive."""
    rule = _rule(rule=series.rrule, starts_on=series.starts_on, local_start=series.local_start)
    return [
        moment.date()
        for moment in rule.between(datetime.combine(first, time.min), datetime.combine(last, time.max), inc=True)
    ]


def visit_times(series: AppointmentSeries, *, day: date, tenant: Tenant) -> tuple[datetime, datetime]:
    """The visit's start (the series' wall-clock time that day in the tenant's zone; in a DST
    gap, the gap's end) and end (its duration of elapsed time later)."""
    starts_at = wall_clock_instant(day, series.local_start, tenant.zone)
    return starts_at, starts_at + timedelta(minutes=series.duration_minutes)


def _check(series: AppointmentSeries, *, tenant: Tenant, calendar: AppointmentSettings) -> None:
    series.title = series.title.strip()
    if not series.title:
        raise _invalid("title", "Must not be blank.")
    series.notes = series.notes.strip()
    longest = calendar.max_appointment_minutes
    if not 1 <= series.duration_minutes <= longest:
        raise _invalid("duration_minutes", f"Between 1 and {longest} minutes.")
    series.rrule = normalise_rule(series.rrule)
    first = _rule(rule=series.rrule, starts_on=series.starts_on, local_start=series.local_start).after(
        datetime.combine(series.starts_on, time.min), inc=True
    )
    if first is None:
        raise _invalid("rrule", "The rule gives no visit.")


def _series_payload(series: AppointmentSeries) -> dict[str, Any]:
    return {
        "series_id": series.pk,
        "customer_id": series.customer_id,
        "staff_id": series.staff_id,
        "rrule": series.rrule,
        "starts_on": series.starts_on,
    }


def _record_conflict(
    occurrence: SeriesOccurrence, *, refusal: DomainError, appointment: Appointment | None, now: datetime | None
) -> None:
    conflict = {"code": refusal.code, "message": refusal.message, "details": refusal.details}
    repeated = occurrence.status == Occurrence.CONFLICT and occurrence.conflict == conflict
    occurrence.status, occurrence.conflict, occurrence.appointment = Occurrence.CONFLICT, conflict, appointment
    occurrence.save()
    if not repeated:
        emit(
            "appointment_series.occurrence_conflict",
            now=now,
            series_id=occurrence.series_id,
            local_date=occurrence.local_date,
            reason=refusal.code,
            appointment_id=appointment.pk if appointment else None,
        )


def _book(
    *,
    tenant: Tenant,
    series: AppointmentSeries,
    occurrence: SeriesOccurrence,
    now: datetime | None,
    calendar: AppointmentSettings,
) -> None:
    """Book the occurrence's visit, or record why not."""
    starts_at, ends_at = visit_times(series, day=occurrence.local_date, tenant=tenant)
    try:
        appointment = services.create_appointment(
            tenant=tenant,
            customer_id=series.customer_id,
            title=series.title,
            starts_at=starts_at,
            ends_at=ends_at,
            staff_id=series.staff_id,
            notes=series.notes,
            property_id=series.service_property_id,
            now=now,
            calendar=calendar,
        )
    except DomainError as refusal:
        _record_conflict(occurrence, refusal=refusal, appointment=None, now=now)
        return
    occurrence.status, occurrence.conflict, occurrence.appointment = Occurrence.BOOKED, {}, appointment
    occurrence.save()


def _move(
    *,
    tenant: Tenant,
    series: AppointmentSeries,
    occurrence: SeriesOccurrence,
    now: datetime,
    calendar: AppointmentSettings,
) -> None:
    """Bring an upcoming active visit in line with the series (time, title, notes, staff,
    property)."""
    appointment = occurrence.appointment
    assert appointment is not None
    starts_at, ends_at = visit_times(series, day=occurrence.local_date, tenant=tenant)
    try:
        services.update_appointment(
            tenant=tenant,
            appointment_id=appointment.pk,
            version=appointment.version,
            changes={
                "starts_at": starts_at,
                "ends_at": ends_at,
                "title": series.title,
                "notes": series.notes,
                "staff_id": series.staff_id,
                "property_id": series.service_property_id,
            },
            now=now,
            calendar=calendar,
        )
    except DomainError as refusal:
        _record_conflict(occurrence, refusal=refusal, appointment=appointment, now=now)
        return
    if occurrence.status != Occurrence.BOOKED:
        occurrence.status, occurrence.conflict = Occurrence.BOOKED, {}
        occurrence.save(update_fields=["status", "conflict", "updated_at"])


def _materialise(
    *,
    tenant: Tenant,
    series: AppointmentSeries,
    now: datetime,
    calendar: AppointmentSettings,
    first_day: date | None = None,
) -> int:
    """Book the rule's days from `first_day` (default: the day after what is materialised)
    up to the horizon that have no occurrence yet and start after `now`; the caller holds the
    series' lock. Returns how many occurrences were written."""
    through = horizon(tenant=tenant, now=now)
    if first_day is None:
        first_day = series.materialised_until + timedelta(days=1) if series.materialised_until else series.starts_on
    # Days already past are never booked, so a series that started long ago expands only from today.
    first_day = max(first_day, series.starts_on, tenant.local_date(now))
    existing = set(
        series.occurrences.filter(local_date__gte=first_day, local_date__lte=through).values_list(
            "local_date", flat=True
        )
    )
    written = 0
    for day in occurrence_days(series, first=first_day, last=through):
        if day in existing or visit_times(series, day=day, tenant=tenant)[0] < now:
            continue
        occurrence = SeriesOccurrence(series=series, local_date=day)
        _book(tenant=tenant, series=series, occurrence=occurrence, now=now, calendar=calendar)
        written += 1
    if series.materialised_until is None or through > series.materialised_until:
        series.materialised_until = through
        series.save(update_fields=["materialised_until", "updated_at"])
    return written


def _replan(
    *, tenant: Tenant, series: AppointmentSeries, first_day: date, now: datetime, calendar: AppointmentSettings
) -> None:
    """After a change: the occurrences from `first_day` on follow the series (see the module's
    rules), then the days without one are booked."""
    through = horizon(tenant=tenant, now=now)
    days = set(occurrence_days(series, first=first_day, last=through))
    occurrences = (
        series.occurrences.filter(local_date__gte=first_day)
        .select_related("appointment")
        .select_for_update(of=("self",))
        .order_by("local_date")
    )
    for occurrence in occurrences:
        appointment = occurrence.appointment
        upcoming = appointment is not None and appointment.is_active and appointment.starts_at > now
        if appointment is not None and not upcoming:
            if occurrence.local_date not in days and appointment.status == Appointment.Status.CANCELLED:
                occurrence.delete()
            continue
        if occurrence.local_date not in days:
            if appointment is not None:
                services.cancel_appointment(appointment_id=appointment.pk, reason=REMOVED_REASON)
            occurrence.delete()
        elif appointment is None:
            _book(tenant=tenant, series=series, occurrence=occurrence, now=now, calendar=calendar)
        else:
            _move(tenant=tenant, series=series, occurrence=occurrence, now=now, calendar=calendar)
    _materialise(tenant=tenant, series=series, now=now, first_day=first_day, calendar=calendar)


def _lock(series_id: int) -> AppointmentSeries:
    series = AppointmentSeries.objects.select_for_update(no_key=True).filter(pk=series_id).first()
    if series is None:
        raise NotFound("Series not found.")
    return series


def create_series(
    *,
    tenant: Tenant,
    customer_id: int,
    title: str,
    starts_at: datetime,
    duration_minutes: int,
    rrule: str,
    staff_id: int | None = None,
    notes: str = "",
    property_id: int | None = None,
    now: datetime | None = None,
) -> AppointmentSeries:
    """Set up recurring visits: the first at `starts_at` (its wall-clock time in the tenant's
    zone is every visit's), then as `rrule` says; books them up to the horizon."""
    now = now or timezone.now()
    if starts_at.tzinfo is None:
        raise _invalid("starts_at", "Times need a UTC offset.")
    # Read once: every visit booked below checks against the same settings.
    calendar = AppointmentSettings.load()
    local = starts_at.astimezone(tenant.zone)
    series = AppointmentSeries(
        customer_id=customer_id,
        service_property_id=property_id,
        staff_id=staff_id,
        title=title,
        notes=notes,
        rrule=rrule,
        starts_on=local.date(),
        local_start=local.time().replace(microsecond=0, tzinfo=None),
        duration_minutes=duration_minutes,
    )
    _check(series, tenant=tenant, calendar=calendar)
    services.check_booking_parties(tenant=tenant, customer_id=customer_id, staff_id=staff_id)
    require_customers_property(customer_id=customer_id, property_id=property_id)
    with transaction.atomic():
        series.save()
        emit("appointment_series.created", now=now, **_series_payload(series))
        _materialise(tenant=tenant, series=series, now=now, calendar=calendar)
    return series


def _split_rule(series: AppointmentSeries, *, from_date: date) -> tuple[str, str]:
    """The old series' rule ending the day before `from_date`, and the rest of it from there
    (what is left of a COUNT)."""
    parts = dict(_parts(series.rrule))
    ended = _with_parts(series.rrule, COUNT=None, UNTIL=f"{from_date - timedelta(days=1):%Y%m%d}T235959")
    rest = series.rrule
    if "COUNT" in parts:
        before = len(occurrence_days(series, first=series.starts_on, last=from_date - timedelta(days=1)))
        rest = _with_parts(series.rrule, COUNT=str(int(parts["COUNT"]) - before))
    return ended, rest


def update_series(
    *,
    tenant: Tenant,
    series_id: int,
    version: int,
    scope: str,
    changes: dict[str, Any],
    from_date: date | None = None,
    now: datetime | None = None,
) -> AppointmentSeries:
    """Change every upcoming visit (`scope` "all") or the visits from the one on `from_date`
    ("following": a new series split from this one, which is returned). `changes` may hold
    title, notes, staff_id, property_id, local_start (wall-clock time), duration_minutes and
    rrule."""
    now = now or timezone.now()
    if scope not in SCOPES:
        raise _invalid("scope", f"One of {', '.join(SCOPES)}.")
    unknown = set(changes) - EDITABLE
    if unknown:
        raise _invalid(sorted(unknown)[0], "Cannot be changed.")
    if "property_id" in changes:
        changes = {**changes, "service_property_id": changes["property_id"]}
        del changes["property_id"]
    today = tenant.local_date(now)
    calendar = AppointmentSettings.load()
    with transaction.atomic():
        series = _lock(series_id)
        if version != series.version:
            raise StaleVersion(current_version=series.version)
        if series.status == Status.ENDED:
            raise Conflict("The series has ended.", code="series_ended")
        if "staff_id" in changes:
            services.check_booking_parties(tenant=tenant, customer_id=series.customer_id, staff_id=changes["staff_id"])
        if "service_property_id" in changes:
            require_customers_property(customer_id=series.customer_id, property_id=changes["service_property_id"])
        if scope == "all":
            for field, value in changes.items():
                setattr(series, field, value)
            _check(series, tenant=tenant, calendar=calendar)
            series.version += 1
            series.save()
            first_day = max(today, series.starts_on)
            _replan(tenant=tenant, series=series, first_day=first_day, now=now, calendar=calendar)
            emit(
                "appointment_series.changed",
                now=now,
                scope=scope,
                from_date=first_day,
                previous_series_id=None,
                **_series_payload(series),
            )
            return series
        if from_date is None:
            raise _invalid("from_date", "Name the day of the visit the change starts from.")
        if from_date < today or from_date not in occurrence_days(series, first=from_date, last=from_date):
            raise _invalid("from_date", "Must be the day of an upcoming visit of the series.")
        ended_rule, rest_rule = _split_rule(series, from_date=from_date)
        following = AppointmentSeries(
            customer_id=series.customer_id,
            service_property_id=series.service_property_id,
            staff_id=series.staff_id,
            title=series.title,
            notes=series.notes,
            rrule=rest_rule,
            starts_on=from_date,
            local_start=series.local_start,
            duration_minutes=series.duration_minutes,
            materialised_until=series.materialised_until,
            split_from=series,
        )
        for field, value in changes.items():
            setattr(following, field, value)
        _check(following, tenant=tenant, calendar=calendar)
        series.rrule = ended_rule
        series.status = Status.ENDED
        series.version += 1
        series.save(update_fields=["rrule", "status", "version", "updated_at"])
        following.save()
        series.occurrences.filter(local_date__gte=from_date).update(series=following)
        _replan(tenant=tenant, series=following, first_day=from_date, now=now, calendar=calendar)
        emit(
            "appointment_series.changed",
            now=now,
            scope=scope,
            from_date=from_date,
            previous_series_id=series.pk,
            **_series_payload(following),
        )
    return following


def end_series(*, series_id: int, version: int, now: datetime | None = None) -> AppointmentSeries:
    """Stop the series: its upcoming active visits are cancelled, its upcoming conflicts
    dropped; visits that happened stay."""
    now = now or timezone.now()
    with transaction.atomic():
        series = _lock(series_id)
        if version != series.version:
            raise StaleVersion(current_version=series.version)
        upcoming = series.occurrences.select_related("appointment").select_for_update(of=("self",))
        for occurrence in upcoming:
            appointment = occurrence.appointment
            if appointment is None:
                if occurrence.status == Occurrence.CONFLICT:
                    occurrence.delete()
            elif appointment.is_active and appointment.starts_at > now:
                services.cancel_appointment(appointment_id=appointment.pk, reason=ENDED_REASON)
        series.status = Status.ENDED
        series.version += 1
        series.save(update_fields=["status", "version", "updated_at"])
        emit("appointment_series.ended", now=now, **_series_payload(series))
    return series


def materialise_series(*, tenant: Tenant, now: datetime | None = None) -> int:
    """The daily job: for each active series, retry its upcoming conflicts and book up to the
    horizon, each series under its lock in its own savepoint. Returns occurrences written."""
    now = now or timezone.now()
    today = tenant.local_date(now)
    calendar = AppointmentSettings.load()
    written = 0
    series_ids = list(
        AppointmentSeries.objects.filter(status=Status.ACTIVE).order_by("pk").values_list("pk", flat=True)
    )
    for series_id in series_ids:
        with transaction.atomic():
            series = _lock(series_id)
            if series.status != Status.ACTIVE:
                continue
            conflicts = series.occurrences.filter(
                status=Occurrence.CONFLICT, appointment__isnull=True, local_date__gte=today
            ).select_for_update(of=("self",))
            for occurrence in conflicts:
                if visit_times(series, day=occurrence.local_date, tenant=tenant)[0] > now:
                    _book(tenant=tenant, series=series, occurrence=occurrence, now=now, calendar=calendar)
            written += _materialise(tenant=tenant, series=series, now=now, calendar=calendar)
    return written
