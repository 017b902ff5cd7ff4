"""Dates and times at the ends of what Python can hold are refused with a 400 naming the
field (shared_apps/tenants/localtime.py: the calendar's span), never a 500 from arithmetic on
them: a business west of UTC, open until 17:00, with a buffer between appointments, is where
9999-12-31 and 0001-01-01 overflowed."""

import pytest

from tests.isolation import assert_refused

FAR_WEST = {"timezone": "America/Los_Angeles", "appointment_buffer_minutes": 30}


@pytest.fixture
def far_west(tenant_a):
    assert tenant_a.api().patch("/tenants/me", FAR_WEST).status_code == 200
    return tenant_a


def field(body: dict) -> str:
    return body["errors"][0]["field"]


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "9000-01-01", "1899-12-31"])
def test_availability_outside_the_calendar_is_400(far_west, day):
    response = far_west.api().get("/appointments/availability", date=day, duration_minutes=60)

    assert field(assert_refused(response, 400)) == "date"


@pytest.mark.parametrize(
    ("starts_at", "ends_at"),
    [
        ("0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z"),
        ("9999-12-31T10:00:00-08:00", "9999-12-31T11:00:00-08:00"),
    ],
)
def test_booking_outside_the_calendar_is_400(far_west, starts_at, ends_at):
    customer = far_west.api().post("/customers", {"name": "Ann"}).json()
    body = {"customer_id": customer["id"], "title": "Visit", "starts_at": starts_at, "ends_at": ends_at}

    assert field(assert_refused(far_west.api().post("/appointments", body), 400)) == "starts_at"


def test_the_calendars_last_day_is_served(far_west):
    response = far_west.api().get("/appointments/availability", date="8999-12-30", duration_minutes=60)

    assert response.status_code == 200, response.content
    assert response.json()["slots"][0]["starts_at"] == "8999-12-30T09:00:00-08:00"
