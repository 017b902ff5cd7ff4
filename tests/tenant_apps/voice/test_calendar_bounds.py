"""The receptionist's tools refuse dates outside the calendar with an error the assistant can
say (the same bound as the API, shared_apps/tenants/localtime.py), never an exception that
fails the call's event."""

import pytest

from tests.tenant_apps.voice.payloads import post, results, tool_calls


@pytest.fixture
def far_west(voice_lines, tenant_a):
    settings = {"timezone": "America/Los_Angeles", "appointment_buffer_minutes": 30}
    assert tenant_a.api().patch("/tenants/me", settings).status_code == 200
    return tenant_a


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("check_availability", {"date": "9999-12-31", "duration_minutes": 60}),
        ("check_availability", {"date": "0001-01-01", "duration_minutes": 60}),
        ("book_appointment", {"starts_at": "9999-12-31T10:00", "duration_minutes": 60, "name": "Ann"}),
        ("book_appointment", {"starts_at": "0001-01-01T00:00:00Z", "duration_minutes": 60, "name": "Ann"}),
    ],
)
def test_a_date_outside_the_calendar_is_a_tool_error(far_west, tool, arguments):
    answer = results(post(tool_calls(("edge", tool, arguments))))["edge"]

    assert answer == {"error": "Date outside the calendar. Must be between 1900-01-01 and 8999-12-31."}
