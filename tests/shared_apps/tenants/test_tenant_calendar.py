from datetime import UTC, date, datetime

from shared_apps.tenants.models import Tenant


def test_local_date_is_the_date_in_the_tenants_zone():
    noon_utc = datetime(2026, 1, 1, 12, tzinfo=UTC)

    assert Tenant(timezone="Pacific/Kiritimati").local_date(noon_utc) == date(2026, 1, 2)
    assert Tenant(timezone="Pacific/Pago_Pago").local_date(noon_utc) == date(2026, 1, 1)
    assert Tenant(timezone="America/New_York").zone.key == "America/New_York"
