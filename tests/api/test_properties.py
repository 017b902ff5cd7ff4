"""A customer's properties: CRUD under the customer, one default, isolation."""

from tenant_apps.customers.models import Property
from tests.api.test_query_baselines import count, count_list
from tests.factories import CustomerFactory, PropertyFactory
from tests.isolation import Route, TenantRouteCases, assert_refused

HOME = {"lines": "12 High Street\nFlat 2", "city": "Leeds", "postal_code": "LS1 4AP", "country": "gb"}


class TestPropertyIsolation(TenantRouteCases):
    routes = [Route("GET", "/customers/{id}/properties"), Route("POST", "/customers/{id}/properties", HOME)]
    # `{id}` is (customer id, property id) here.
    object_routes = [
        Route("GET", "/customers/{id[0]}/properties"),
        Route("POST", "/customers/{id[0]}/properties", HOME),
        Route("GET", "/customers/{id[0]}/properties/{id[1]}"),
        Route("PATCH", "/customers/{id[0]}/properties/{id[1]}", {"label": "Mine", "version": 1}),
        Route("DELETE", "/customers/{id[0]}/properties/{id[1]}"),
    ]

    def make_object(self, owner):
        with owner.schema():
            place = PropertyFactory()
            return place.customer_id, place.pk


def customer(test_tenant) -> int:
    with test_tenant.schema():
        return CustomerFactory().pk


def test_crud_at_the_baselines(tenant_a):
    customer_id = customer(tenant_a)
    path = f"/customers/{customer_id}/properties"
    client = tenant_a.api()

    created = count("POST /customers/{id}/properties", client, "POST", path, HOME | {"label": " Flat 2 "})
    place = created.json()
    fetched = count("GET /customers/{id}/properties/{id}", client, "GET", f"{path}/{place['id']}")
    changed = count(
        "PATCH /customers/{id}/properties/{id}",
        client,
        "PATCH",
        f"{path}/{place['id']}",
        {"access_notes": "Gate code 4412", "version": 1},
    )

    def add_rows(number):
        with tenant_a.schema():
            PropertyFactory.create_batch(number, customer_id=customer_id)

    listed = count_list("GET /customers/{id}/properties", client, path, add_rows, limit=200)
    deleted = count("DELETE /customers/{id}/properties/{id}", client, "DELETE", f"{path}/{place['id']}")

    assert created.status_code == 201, created.content
    assert {key: place[key] for key in ("customer_id", "label", "country", "is_default", "version")} == {
        "customer_id": customer_id,
        "label": "Flat 2",
        "country": "GB",
        "is_default": True,  # the first one
        "version": 1,
    }
    assert place["one_line"] == "12 High Street, Flat 2, Leeds LS1 4AP, GB"
    assert fetched.json() == place
    assert (changed.json()["access_notes"], changed.json()["version"]) == ("Gate code 4412", 2)
    assert listed.json()["items"][0]["id"] == place["id"]  # the default first
    assert deleted.status_code == 204
    assert_refused(client.get(f"{path}/{place['id']}"), 404)


def test_one_default_per_customer_and_a_successor_when_it_goes(tenant_a):
    customer_id = customer(tenant_a)
    path = f"/customers/{customer_id}/properties"
    first = tenant_a.api().post(path, HOME).json()
    second = tenant_a.api().post(path, HOME | {"lines": "1 Mill Lane"}).json()
    third = tenant_a.api().post(path, HOME | {"lines": "3 Mill Lane", "is_default": True}).json()

    def defaults():
        return [item["id"] for item in tenant_a.api().get(path).json()["items"] if item["is_default"]]

    assert (first["is_default"], second["is_default"], third["is_default"]) == (True, False, True)
    assert defaults() == [third["id"]]
    undefaulting = tenant_a.api().patch(f"{path}/{third['id']}", {"is_default": False, "version": 1})
    assert assert_refused(undefaulting, 400)["errors"][0]["field"] == "is_default"
    tenant_a.api().patch(f"{path}/{second['id']}", {"is_default": True, "version": 1})
    assert defaults() == [second["id"]]
    tenant_a.api().delete(f"{path}/{second['id']}")
    assert defaults() == [first["id"]]  # the oldest remaining


def test_bad_addresses_are_400_naming_the_field(tenant_a):
    path = f"/customers/{customer(tenant_a)}/properties"

    def field(body):
        return assert_refused(tenant_a.api().post(path, body), 400)["errors"][0]["field"]

    assert field(HOME | {"country": "XX"}) == "country"
    assert field(HOME | {"lines": "  \n "}) == "lines"
    assert field(HOME | {"lines": "\n".join(["line"] * 6)}) == "lines"
    assert field({"city": "Leeds"}) == "lines"


def test_another_customers_property_is_not_found(tenant_a):
    with tenant_a.schema():
        place = PropertyFactory()
        other = CustomerFactory().pk

    assert_refused(tenant_a.api().get(f"/customers/{other}/properties/{place.pk}"), 404)
    assert_refused(tenant_a.api().get("/customers/999999999/properties"), 404)


def test_staff_may_edit_but_not_delete_properties(tenant_a):
    with tenant_a.schema():
        place = PropertyFactory()
    path = f"/customers/{place.customer_id}/properties/{place.pk}"

    edited = tenant_a.api(as_staff=True).patch(path, {"label": "Shop", "version": 1})

    assert edited.status_code == 200, edited.content
    assert_refused(tenant_a.api(as_staff=True).delete(path), 403)
    with tenant_a.schema():
        assert Property.objects.filter(pk=place.pk).exists()
