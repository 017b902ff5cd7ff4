"""The tenant's calendar: documents' dates and number years are local to the tenant."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from shared_apps.tenants.models import Tenant


def tenant_zone(tenant: Tenant) -> ZoneInfo:
    return ZoneInfo(tenant.timezone)


def local_date(*, now: datetime, tz: ZoneInfo) -> date:
    """The calendar date at instant `now` in zone `tz` (due dates and validity are local)."""
    return now.astimezone(tz).date()
