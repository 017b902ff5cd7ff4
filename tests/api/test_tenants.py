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
