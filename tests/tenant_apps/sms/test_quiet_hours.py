from datetime import UTC, datetime, time
from typing import Any

import pytest

from shared_apps.tenants.models import Tenant
from tenant_apps.sms.models import SmsSettings
from tenant_apps.sms.quiet_hours import next_allowed_send_time


def business(*, zone: str = "America/New_York", start: time = time(21), end: time = time(8)) -> dict[str, Any]:
    """A business in `zone` with these quiet hours (in memory: no schema needed)."""
    return {"tenant": Tenant(timezone=zone), "quiet": SmsSettings(quiet_hours_start=start, quiet_hours_end=end)}


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # 12:00 EST: allowed at once.
        (datetime(2026, 1, 15, 17, 0, tzinfo=UTC), datetime(2026, 1, 15, 17, 0, tzinfo=UTC)),
        # 20:59 EST: still allowed.
        (datetime(2026, 1, 16, 1, 59, tzinfo=UTC), datetime(2026, 1, 16, 1, 59, tzinfo=UTC)),
        # 21:00 EST: held until 08:00 EST the next morning.
        (datetime(2026, 1, 16, 2, 0, tzinfo=UTC), datetime(2026, 1, 16, 13, 0, tzinfo=UTC)),
        # 03:00 EST: held until 08:00 the same morning.
        (datetime(2026, 1, 16, 8, 0, tzinfo=UTC), datetime(2026, 1, 16, 13, 0, tzinfo=UTC)),
        # 08:00 EST sharp: allowed.
        (datetime(2026, 1, 16, 13, 0, tzinfo=UTC), datetime(2026, 1, 16, 13, 0, tzinfo=UTC)),
    ],
)
def test_texts_wait_for_the_end_of_quiet_hours(at, expected):
    assert next_allowed_send_time(**business(), at=at) == expected


def test_quiet_night_across_spring_forward_ends_at_eight_local():
    # 22:00 EST on Saturday 2026-03-07; clocks go forward that night: 08:00 EDT is 12:00 UTC.
    at = datetime(2026, 3, 8, 3, 0, tzinfo=UTC)

    assert next_allowed_send_time(**business(), at=at) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


def test_quiet_night_across_fall_back_ends_at_eight_local():
    # 23:00 EDT on Saturday 2026-10-31; clocks go back that night: 08:00 EST is 13:00 UTC.
    at = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)

    assert next_allowed_send_time(**business(), at=at) == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)


def test_quiet_end_inside_a_dst_gap_means_the_gap_end():
    # Quiet 01:00-02:30; 2026-03-08 02:30 does not exist in New York: texts go at 03:00 EDT.
    quiet = business(start=time(1), end=time(2, 30))
    at = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # 01:30 EST

    assert next_allowed_send_time(**quiet, at=at) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_daytime_quiet_window_that_does_not_wrap_midnight():
    lunch = business(zone="Europe/Berlin", start=time(12), end=time(14))

    assert next_allowed_send_time(**lunch, at=datetime(2026, 6, 1, 11, 0, tzinfo=UTC)) == datetime(
        2026, 6, 1, 12, 0, tzinfo=UTC
    )
    assert next_allowed_send_time(**lunch, at=datetime(2026, 6, 1, 9, 0, tzinfo=UTC)) == datetime(
        2026, 6, 1, 9, 0, tzinfo=UTC
    )
