import pytest

from tests.isolation import Route, TenantRouteCases, assert_refused


class TestTenantMeIsolation(TenantRouteCases):
    routes = [Route("GET", "/tenants/me"), Route("PATCH", "/tenants/me", {"name": "Hijacked"})]


def test_get_me_on_subdomain_and_api_host(tenant_a):
    on_host = tenant_a.api().get("/tenants/me")
    on_api = tenant_a.api(on_api_host=True).get("/tenants/me")

    assert on_host.status_code == 200
    assert on_host.json() == on_api.json()
    assert on_host.json()["slug"] == "alpha"
    assert on_host.json()["domain"] == tenant_a.host


def test_patch_me_validates_timezone_and_currency(tenant_a):
    response = tenant_a.api().patch("/tenants/me", {"timezone": "Mars/Olympus", "currency": "xyz"})

    body = assert_refused(response, 400)
    assert body["errors"][0]["field"] == "timezone"


def test_patch_me_saves_settings(tenant_a):
    response = tenant_a.api().patch(
        "/tenants/me",
        {"timezone": "Europe/Berlin", "currency": "eur", "business_hours": {"mon": [["08:00", "12:00"]]}},
    )

    assert response.status_code == 200, response.content
    assert response.json()["timezone"] == "Europe/Berlin"
    assert response.json()["currency"] == "eur"
    assert response.json()["business_hours"]["mon"] == [["08:00", "12:00"]]
    assert response.json()["business_hours"]["tue"] == []
    assert tenant_a.api().get("/tenants/me").json()["timezone"] == "Europe/Berlin"


def test_staff_may_read_but_not_change_settings(tenant_a):
    assert tenant_a.api(as_staff=True).get("/tenants/me").status_code == 200
    assert_refused(tenant_a.api(as_staff=True).patch("/tenants/me", {"name": "Mine now"}), 403)


def test_patch_me_rejects_unknown_fields(tenant_a):
    body = assert_refused(tenant_a.api().patch("/tenants/me", {"schema_name": "public"}), 400)
    assert body["errors"][0]["field"] == "schema_name"


def test_overlapping_business_hours_rejected(tenant_a):
    response = tenant_a.api().patch(
        "/tenants/me", {"business_hours": {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}}
    )
    assert_refused(response, 400)


@pytest.mark.parametrize(
    "interval",
    [
        ["09:00+05:00", "17:00"],
        ["09:00", "17:00Z"],
        ["09:00:30", "17:00"],
        ["9:00", "17:00"],
        ["09:00", "24:00"],
        ["09:00"],
        ["09:00", "12:00", "17:00"],
    ],
)
def test_business_hours_are_local_wall_times(tenant_a, interval):
    response = tenant_a.api().patch("/tenants/me", {"business_hours": {"mon": [interval]}})

    body = assert_refused(response, 400)
    assert body["errors"][0]["field"] == "business_hours.mon"


def test_sms_notification_settings_default_on_with_quiet_hours(tenant_a):
    body = tenant_a.api().get("/tenants/me").json()

    assert body["sms_booking_confirmation"] is True
    assert body["sms_reminders"] is True
    assert body["sms_reminder_hours"] == [24, 2]
    assert body["sms_quote_sent"] is True
    assert body["sms_invoice_sent"] is True
    assert (body["quiet_hours_start"], body["quiet_hours_end"]) == ("21:00", "08:00")


def test_patch_sms_notification_settings(tenant_a):
    response = tenant_a.api().patch(
        "/tenants/me",
        {"sms_reminders": False, "sms_reminder_hours": [2, 48], "quiet_hours_start": "20:30", "sms_quote_sent": False},
    )

    assert response.status_code == 200, response.content
    body = tenant_a.api().get("/tenants/me").json()
    assert body["sms_reminders"] is False
    assert body["sms_reminder_hours"] == [48, 2]
    assert body["quiet_hours_start"] == "20:30"
    assert body["sms_quote_sent"] is False


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quiet_hours_start": "25:00"}, "quiet_hours_start"),
        ({"quiet_hours_end": "8am"}, "quiet_hours_end"),
        ({"quiet_hours_start": "08:00"}, "quiet_hours_end"),
        ({"sms_reminder_hours": [24, 24]}, "sms_reminder_hours"),
        ({"sms_reminder_hours": [0]}, "sms_reminder_hours"),
        ({"sms_reminder_hours": [24 * 8]}, "sms_reminder_hours"),
        ({"sms_reminders": None}, "sms_reminders"),
        ({"quiet_hours_start": None}, "quiet_hours_start"),
    ],
)
def test_bad_sms_notification_settings_are_refused(tenant_a, changes, field):
    body = assert_refused(tenant_a.api().patch("/tenants/me", changes), 400)

    assert body["errors"][0]["field"] == field
    assert tenant_a.api().get("/tenants/me").json()["quiet_hours_start"] == "21:00"


def test_voice_services_are_the_price_books_services_now(tenant_a):
    refused = assert_refused(tenant_a.api().patch("/tenants/me", {"voice_services": []}), 400)

    assert refused["errors"][0]["field"] == "voice_services"
    assert "voice_services" not in tenant_a.api().get("/tenants/me").json()
