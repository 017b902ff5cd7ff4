from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import CustomerFactory
from tests.isolation import Route, TenantRouteCases, assert_refused


class TestCustomerIsolation(TenantRouteCases):
    routes = [Route("GET", "/customers"), Route("POST", "/customers", {"name": "Mallory"})]
    object_routes = [
        Route("GET", "/customers/{id}"),
        Route("PATCH", "/customers/{id}", {"name": "Changed", "version": 1}),
        Route("DELETE", "/customers/{id}"),
        Route("GET", "/customers/{id}/history"),
    ]

    def make_object(self, owner):
        with owner.schema():
            return CustomerFactory().pk


def test_create_normalises_phone_with_tenant_country(tenant_a):
    response = tenant_a.api().post(
        "/customers", {"name": " Ada Lovelace ", "email": "Ada@Example.COM", "phone": "(202) 555-0143"}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Ada Lovelace"
    assert body["email"] == "ada@example.com"
    assert body["phone"] == "+12025550143"
    assert body["version"] == 1
    assert set(body) >= {"id", "address", "notes", "sms_opt_out", "created_at", "updated_at"}


def test_international_number_keeps_its_own_country(tenant_a):
    response = tenant_a.api().post("/customers", {"name": "Hans", "phone": "+49 30 901820"})

    assert response.json()["phone"] == "+4930901820"


def test_national_number_follows_tenant_country(tenant_a):
    tenant_a.api().patch("/tenants/me", {"country": "GB"})

    response = tenant_a.api().post("/customers", {"name": "Tom", "phone": "020 7946 0018"})

    assert response.json()["phone"] == "+442079460018"


def test_invalid_phone_is_400(tenant_a):
    body = assert_refused(tenant_a.api().post("/customers", {"name": "X", "phone": "12"}), 400)

    assert body["errors"][0]["field"] == "phone"


def test_invalid_email_is_400(tenant_a):
    body = assert_refused(tenant_a.api().post("/customers", {"name": "X", "email": "not-an-email"}), 400)

    assert body["errors"][0]["field"] == "email"


def test_unknown_field_is_400(tenant_a):
    assert_refused(tenant_a.api().post("/customers", {"name": "X", "archived_at": "2020-01-01T00:00:00Z"}), 400)


def test_search_by_name_email_and_phone_digits(tenant_a):
    with tenant_a.schema():
        CustomerFactory(name="Grace Hopper", email="grace@navy.test", phone="+12025550199")
        CustomerFactory(name="Alan Turing", email="alan@bletchley.test", phone="+442079460018")

    def names(search):
        return [c["name"] for c in tenant_a.api().get("/customers", search=search).json()["items"]]

    assert names("hopp") == ["Grace Hopper"]
    assert names("BLETCHLEY") == ["Alan Turing"]
    assert names("(202) 555-0199") == ["Grace Hopper"]
    assert names("nobody") == []


def test_list_is_paginated_newest_first(tenant_a):
    with tenant_a.schema():
        _first, second, third = CustomerFactory.create_batch(3)

    body = tenant_a.api().get("/customers", limit=2, offset=0).json()

    assert body["count"] == 3
    assert [c["id"] for c in body["items"]] == [third.pk, second.pk]


def test_list_query_count_is_constant(tenant_a):
    def queries_for_page():
        tenant_a.api().get("/customers", limit=200)  # warm the tenant and membership caches
        with CaptureQueriesContext(connection) as captured:
            assert tenant_a.api().get("/customers", limit=200).status_code == 200
        return len(captured)

    with tenant_a.schema():
        CustomerFactory.create_batch(2)
    few = queries_for_page()
    with tenant_a.schema():
        CustomerFactory.create_batch(40)
    many = queries_for_page()

    assert few == many


def test_patch_bumps_version_and_refuses_stale(tenant_a):
    with tenant_a.schema():
        customer_id = CustomerFactory().pk

    ok = tenant_a.api().patch(f"/customers/{customer_id}", {"notes": "Gate code 1234", "version": 1})
    stale = tenant_a.api().patch(f"/customers/{customer_id}", {"notes": "Overwrite", "version": 1})

    assert ok.status_code == 200
    assert ok.json()["version"] == 2
    body = assert_refused(stale, 409)
    assert body["errors"][0] == {"code": "stale_version", "current_version": 2}


def test_patch_without_version_is_400(tenant_a):
    with tenant_a.schema():
        customer_id = CustomerFactory().pk

    body = assert_refused(tenant_a.api().patch(f"/customers/{customer_id}", {"phone": "202-555-0111"}), 400)

    assert body["errors"][0]["field"] == "version"


def test_patch_normalises_phone(tenant_a):
    with tenant_a.schema():
        customer_id = CustomerFactory().pk

    response = tenant_a.api().patch(f"/customers/{customer_id}", {"phone": "202-555-0111", "version": 1})

    assert response.json()["phone"] == "+12025550111"


def test_delete_without_documents_deletes(tenant_a):
    with tenant_a.schema():
        customer_id = CustomerFactory().pk

    assert tenant_a.api().delete(f"/customers/{customer_id}").status_code == 204
    assert_refused(tenant_a.api().get(f"/customers/{customer_id}"), 404)


def test_staff_may_not_delete_customers(tenant_a):
    with tenant_a.schema():
        customer_id = CustomerFactory().pk

    assert_refused(tenant_a.api(as_staff=True).delete(f"/customers/{customer_id}"), 403)


def test_missing_customer_is_404(tenant_a):
    assert_refused(tenant_a.api().get("/customers/999999"), 404)


def test_history_of_customer_without_rows_is_empty(tenant_a):
    with tenant_a.schema():
        customer_id = CustomerFactory().pk

    body = tenant_a.api().get(f"/customers/{customer_id}/history").json()

    assert body == {"items": [], "next_cursor": None}
