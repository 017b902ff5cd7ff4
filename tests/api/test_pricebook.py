from tests.api.generic import CreateTests, DeleteTests, GetTests, ListTests, VersionedUpdateTests
from tests.factories import CustomerFactory, PriceBookItemFactory
from tests.isolation import Route, assert_refused

SERVICE = {"kind": "service", "name": "Boiler service", "unit_price": 12000, "tax_rate": "20", "duration_minutes": 90}


class TestPriceBookAPI(ListTests, GetTests, CreateTests, VersionedUpdateTests, DeleteTests):
    # Its item schema has more than columns (nested rows, computed values): Ninja's path.
    list_from_values = False
    path = "/price-book"
    routes = [Route("GET", "/price-book"), Route("POST", "/price-book", SERVICE)]
    object_routes = [
        Route("GET", "/price-book/{id}"),
        Route("PATCH", "/price-book/{id}", {"unit_price": 1, "version": 1}),
        Route("DELETE", "/price-book/{id}"),
    ]
    create_expected = {
        "kind": "material",
        "name": "Copper pipe 15 mm",
        "unit_price": 1250,
        "unit": "m",
        "tax_rate": "8.25",
        "taxable": True,
        "active": True,
        "duration_minutes": None,
        "version": 1,
    }
    create_fields = {"id", "description", "created_at", "updated_at"}
    invalid_create = [
        ({"unit_price": -1}, "unit_price"),
        ({"kind": "labour"}, "kind"),
        ({"name": "   "}, "name"),
        ({"duration_minutes": 30}, "duration_minutes"),  # a material has no duration
        ({"tax_rate": "8.123456"}, "tax_rate"),
    ]
    update_data = {"unit_price": 1500, "version": 1}
    update_expected = {"unit_price": 1500}

    def create_data(self, owner):
        return {"kind": "material", "name": " Copper pipe 15 mm ", "unit_price": 1250, "unit": "m", "tax_rate": "8.25"}

    def make_object(self, owner):
        with owner.schema():
            return PriceBookItemFactory().pk

    def make_objects(self, owner, count):
        with owner.schema():
            return [item.pk for item in PriceBookItemFactory.create_batch(count)]


def test_staff_read_the_price_book_and_only_managers_write_it(tenant_a):
    created = tenant_a.api().post("/price-book", SERVICE)
    item_id = created.json()["id"]
    staff = tenant_a.api(as_staff=True)

    listed = staff.get("/price-book")
    by_staff = staff.post("/price-book", SERVICE | {"name": "Other"})
    staff_edit = staff.patch(f"/price-book/{item_id}", {"unit_price": 1, "version": 1})
    staff_delete = staff.delete(f"/price-book/{item_id}")

    assert created.status_code == 201, created.content
    assert [item["name"] for item in listed.json()["items"]] == ["Boiler service"]
    assert_refused(by_staff, 403)
    assert_refused(staff_edit, 403)
    assert_refused(staff_delete, 403)


def test_a_name_is_used_once_per_kind_whatever_its_case(tenant_a):
    tenant_a.api().post("/price-book", SERVICE)

    again = tenant_a.api().post("/price-book", SERVICE | {"name": "BOILER SERVICE"})
    as_material = tenant_a.api().post("/price-book", SERVICE | {"kind": "material", "duration_minutes": None})

    assert assert_refused(again, 409)["errors"][0]["field"] == "name"
    assert as_material.status_code == 201, as_material.content


def test_filters_by_kind_activity_and_text(tenant_a):
    with tenant_a.schema():
        PriceBookItemFactory(name="Drain unblocking", description="Kitchen or bathroom")
        PriceBookItemFactory(name="Old call-out", active=False)
        PriceBookItemFactory(kind="material", name="Washer", duration_minutes=None)

    def names(**query):
        return [item["name"] for item in tenant_a.api().get("/price-book", **query).json()["items"]]

    assert names() == ["Drain unblocking", "Old call-out", "Washer"]
    assert names(kind="material") == ["Washer"]
    assert names(kind="service", active=True) == ["Drain unblocking"]
    assert names(search="BATHROOM") == ["Drain unblocking"]


def test_a_service_duration_is_bounded_and_a_material_change_of_kind_drops_none(tenant_a):
    too_long = tenant_a.api().post("/price-book", SERVICE | {"duration_minutes": 24 * 60 + 1})
    item = tenant_a.api().post("/price-book", SERVICE).json()

    to_material = tenant_a.api().patch(f"/price-book/{item['id']}", {"kind": "material", "version": 1})
    cleared = tenant_a.api().patch(
        f"/price-book/{item['id']}", {"kind": "material", "duration_minutes": None, "version": 1}
    )

    assert assert_refused(too_long, 400)["errors"][0]["field"] == "duration_minutes"
    assert assert_refused(to_material, 400)["errors"][0]["field"] == "duration_minutes"
    assert (cleared.json()["kind"], cleared.json()["duration_minutes"]) == ("material", None)


def price_book_item(test_tenant, **fields) -> int:
    with test_tenant.schema():
        return PriceBookItemFactory(**fields).pk


def customer(test_tenant) -> int:
    with test_tenant.schema():
        return CustomerFactory().pk


def test_a_quote_line_copies_the_item_and_keeps_it_when_the_price_book_changes(tenant_a):
    service = price_book_item(tenant_a, name="Boiler service", description="Yearly", unit_price=12000, tax_rate="20")
    untaxed = price_book_item(tenant_a, name="Call-out", unit_price=5000, tax_rate="20", taxable=False)
    items = [
        {"price_book_item_id": service, "quantity": "2"},
        {"price_book_item_id": untaxed, "quantity": "1", "unit_price": 4000, "description": "Call-out (agreed)"},
    ]

    quote = tenant_a.api().post("/quotes", {"customer_id": customer(tenant_a), "items": items}).json()
    tenant_a.api().patch(f"/price-book/{service}", {"unit_price": 99999, "name": "Renamed", "version": 1})
    again = tenant_a.api().get(f"/quotes/{quote['id']}").json()

    lines = [(i["description"], i["quantity"], i["unit_price"], i["tax_rate"], i["total"]) for i in quote["items"]]
    assert lines == [
        ("Boiler service\nYearly", "2", 12000, "20", 28800),
        ("Call-out (agreed)", "1", 4000, "0", 4000),  # given figures win; not taxable: no tax
    ]
    assert (quote["subtotal"], quote["tax_total"], quote["total"]) == (28000, 4800, 32800)
    assert again["items"] == quote["items"]


def test_an_invoice_edit_takes_lines_from_the_price_book(tenant_a):
    material = price_book_item(tenant_a, kind="material", name="Washer", unit_price=150, duration_minutes=None)
    invoice = (
        tenant_a.api()
        .post(
            "/invoices",
            {
                "customer_id": customer(tenant_a),
                "items": [{"description": "Labour", "quantity": "1", "unit_price": 6000}],
            },
        )
        .json()
    )

    changed = tenant_a.api().patch(
        f"/invoices/{invoice['id']}",
        {"items": [{"price_book_item_id": material, "quantity": "4"}], "version": invoice["version"]},
    )

    assert changed.status_code == 200, changed.content
    assert [(i["description"], i["total"]) for i in changed.json()["items"]] == [("Washer", 600)]
    assert changed.json()["total"] == 600


def test_unusable_price_book_lines_are_400_naming_the_line(tenant_a, tenant_b):
    retired = price_book_item(tenant_a, active=False)
    with tenant_b.schema():
        theirs = PriceBookItemFactory.create_batch(5)[-1].pk  # an id tenant A's schema has not reached
    mine = price_book_item(tenant_a)
    customer_id = customer(tenant_a)

    def field(items, **body):
        response = tenant_a.api().post("/quotes", {"customer_id": customer_id, "items": items} | body)
        return assert_refused(response, 400)["errors"][0]["field"]

    assert field([{"price_book_item_id": retired, "quantity": "1"}]) == "items.0.price_book_item_id"
    assert field([{"price_book_item_id": theirs, "quantity": "1"}]) == "items.0.price_book_item_id"
    assert field([{"price_book_item_id": mine, "quantity": "1"}], currency="eur") == "items.0.unit_price"
    assert field([{"quantity": "1", "unit_price": 100}]) == "items.0"
    priced = tenant_a.api().post(
        "/quotes",
        {
            "customer_id": customer_id,
            "currency": "eur",
            "items": [{"price_book_item_id": mine, "quantity": "1", "unit_price": 80}],
        },
    )
    assert priced.status_code == 201, priced.content
