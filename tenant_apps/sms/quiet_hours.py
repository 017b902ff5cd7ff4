"""Quiet hours: automatic texts (reminders, confirmations) never reach a customer between the
tenant's `quiet_hours_start` and `quiet_hours_end`, local time; they wait for the morning.
Texts a staff member sends by hand are not held."""

from datetime import datetime, timedelta

from shared_apps.tenants.localtime import wall_clock_instant
from shared_apps.tenants.models import Tenant
from tenant_apps.sms.models import SmsSettings


def next_allowed_send_time(*, tenant: Tenant, at: datetime, quiet: SmsSettings | None = None) -> datetime:
    """`at` itself when it is outside the tenant's quiet hours, else the instant they end
    (local `quiet_hours_end`, across DST changes; the end of a DST gap if that wall time is
    skipped that day). The window may wrap midnight (21:00-08:00) or not (12:00-14:00). The
    hours are read from the tenant's schema unless given (`quiet`)."""
    quiet = quiet or SmsSettings.load()
    zone = tenant.zone
    local = at.astimezone(zone)
    now, day = local.time().replace(tzinfo=None), local.date()
    start, end = quiet.quiet_hours_start, quiet.quiet_hours_end
    if start < end:
        quiet_until_day = day if start <= now < end else None
    elif now >= start:
        quiet_until_day = day + timedelta(days=1)
    elif now < end:
        quiet_until_day = day
    else:
        quiet_until_day = None
    if quiet_until_day is None:
        return at
    return max(at, wall_clock_instant(quiet_until_day, end, zone))
