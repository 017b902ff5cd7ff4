from datetime import date, datetime, time, timedelta

import pytest

from tests.tenant_apps.voice.payloads import ASSISTANT_A, ASSISTANT_B, PHONE_A, PHONE_B


def next_business_day(zone, *, weeks_ahead: int = 1) -> date:
    """A Monday at least a week ahead in `zone` (test tenants keep Mon-Fri 09:00-17:00)."""
    today = datetime.now(tz=zone).date() + timedelta(weeks=weeks_ahead)
    return today + timedelta(days=(7 - today.weekday()) % 7)


def local(day: date, hour: int, zone) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone)


LEAK_REPAIR = {"kind": "service", "name": "Leak repair", "unit_price": 9000, "duration_minutes": 60}


def set_up_voice(test_tenant, *, phone_number_id: str, assistant_id: str) -> None:
    response = test_tenant.api().patch(
        "/tenants/me", {"vapi_phone_number_id": phone_number_id, "vapi_assistant_id": assistant_id}
    )
    assert response.status_code == 200, response.content


@pytest.fixture
def voice_lines(tenant_a, tenant_b):
    """Tenant A and B each with a Vapi number and assistant (claimed through PATCH /tenants/me)
    and a bookable service in the price book."""
    for test_tenant, phone_number_id, assistant_id in (
        (tenant_a, PHONE_A, ASSISTANT_A),
        (tenant_b, PHONE_B, ASSISTANT_B),
    ):
        set_up_voice(test_tenant, phone_number_id=phone_number_id, assistant_id=assistant_id)
        created = test_tenant.api().post("/price-book", LEAK_REPAIR)
        assert created.status_code == 201, created.content
