from tests.api.generic import CreateTests, DeleteTests, GetTests, ListTests, VersionedUpdateTests
from tests.factories import CustomerFactory
from tests.isolation import Route, assert_refused


class TestCustomerAPI(ListTests, GetTests, CreateTests, VersionedUpdateTests, DeleteTests):
    path = "/customers"
    routes = [Route("GET", "/customers"), Route("POST", "/customers", {"name": "Mallory"})]
    object_routes = [
        Route("GET", "/customers/{id}"),
        Route("PATCH", "/customers/{id}", {"name": "Changed", "version": 1}),
        Route("DELETE", "/customers/{id}"),
        Route("GET", "/customers/{id}/history"),
    ]
    # Names are trimmed, emails lower-cased, phones normalised with the tenant's country.
    create_expected = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+12025550143", "version": 1}
    create_fields = {"id", "address", "notes", "sms_opt_out", "created_at", "updated_at"}
    invalid_create = [({"phone": "12"}, "phone"), ({"email": "not-an-email"}, "email")]
    update_data = {"notes": "Gate code 1234", "version": 1}
    update_expected = {"notes": "Gate code 1234"}

    def create_data(self, owner):
        return {"name": " Ada Lovelace ", "email": "Ada@Example.COM", "phone": "(202) 555-0143"}

    def make_object(self, owner):
        with owner.schema():
            return CustomerFactory().pk

    def make_objects(self, owner, count):
        with owner.schema():
            return [customer.pk for customer in CustomerFactory.create_batch(count)]


def test_international_number_keeps_its_own_country(tenant_a):
    response = tenant_a.api().post("/customers", {"name": "Hans", "phone": "+49 30 901820"})

    assert response.json()["phone"] == "+4930901820"


def test_national_number_follows_tenant_country(tenant_a):
    tenant_a.api().patch("/tenants/me", {"country": "GB"})

    response = tenant_a.api().post("/customers", {"name": "Tom", "phone": "020 7946 0018"})

    assert response.json()["phone"] == "+442079460018"


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


def test_history_of_customer_without_rows_is_empty(tenant_a):
    with tenant_a.schema():
        customer_id = CustomerFactory().pk

    body = tenant_a.api().get(f"/customers/{customer_id}/history").json()

    assert body == {"items": [], "next_cursor": None}
