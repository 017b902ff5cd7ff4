from datetime import date, datetime, time, timedelta

import pytest

from tests.tenant_apps.voice.payloads import ASSISTANT_A, ASSISTANT_B, PHONE_A, PHONE_B


def next_business_day(zone, *, weeks_ahead: int = 1) -> date:
    """A Monday at least a week ahead in `zone` (test tenants keep Mon-Fri 09:00-17:00)."""
    today = datetime.now(tz=zone).date() + timedelta(weeks=weeks_ahead)
    return today + timedelta(days=(7 - today.weekday()) % 7)


def local(day: date, hour: int, zone) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone)


def set_up_voice(test_tenant, *, phone_number_id: str, assistant_id: str, services=None) -> None:
    response = test_tenant.api().patch(
        "/tenants/me",
        {
            "vapi_phone_number_id": phone_number_id,
            "vapi_assistant_id": assistant_id,
            "voice_services": services or [{"name": "Leak repair", "duration_minutes": 60}],
        },
    )
    assert response.status_code == 200, response.content


@pytest.fixture
def voice_lines(tenant_a, tenant_b):
    """Tenant A and B each with a Vapi number and assistant (claimed through PATCH /tenants/me)."""
    set_up_voice(tenant_a, phone_number_id=PHONE_A, assistant_id=ASSISTANT_A)
    set_up_voice(tenant_b, phone_number_id=PHONE_B, assistant_id=ASSISTANT_B)
