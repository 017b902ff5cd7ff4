import pytest

from tenant_apps.quotes.models import Quote
from tests.api.generic import CreateTests, DeleteTests, GetTests, ListTests, VersionedUpdateTests
from tests.factories import CustomerFactory
from tests.isolation import Route, assert_refused
from tests.tenant_apps.quotes.factories import accepted_quote, draft_quote, sent_quote

ITEM = {"description": "Fit a tap", "quantity": "1.5", "unit_price": 4000, "tax_rate": "8.25"}


class TestQuoteAPI(ListTests, GetTests, CreateTests, VersionedUpdateTests, DeleteTests):
    # Its item schema has more than columns (nested rows, computed values): Ninja's path.
    list_from_values = False
    path = "/quotes"
    routes = [
        Route("GET", "/quotes"),
        Route("POST", "/quotes", {"customer_id": 1, "items": [ITEM]}),
    ]
    object_routes = [
        Route("GET", "/quotes/{id}"),
        Route("PATCH", "/quotes/{id}", {"version": 1, "notes": "Hijacked"}),
        Route("DELETE", "/quotes/{id}"),
        Route("PATCH", "/quotes/{id}/status", {"status": "SENT"}),
        Route("POST", "/quotes/{id}/convert"),
        Route("GET", "/quotes/{id}/pdf"),
    ]

    # Priced from the items; currency and validity default from the tenant.
    create_expected = {
        "number": None,
        "status": "DRAFT",
        "currency": "usd",
        "subtotal": 6000,
        "tax_total": 495,
        "total": 6495,
        "invoice_id": None,
        "version": 1,
    }
    invalid_create = [
        ({"items": [ITEM | {"quantity": "-1"}]}, "items.0.quantity"),
        ({"items": [ITEM | {"quantity": "1.1234567"}]}, "items.0.quantity"),
        ({"items": [ITEM | {"unit_price": 1.5}]}, "items.0.unit_price"),
        ({"items": [ITEM | {"discount": 99_999}]}, "items.0.discount"),
        ({"items": [ITEM | {"colour": "red"}]}, "items.0.colour"),
        ({"currency": "xyz"}, "currency"),
    ]
    update_data = {"version": 1, "notes": "first"}
    update_expected = {"notes": "first"}

    def create_data(self, owner):
        with owner.schema():
            return {"customer_id": CustomerFactory().pk, "items": [ITEM]}

    def make_object(self, owner):
        with owner.schema():
            return draft_quote(owner.tenant).pk

    def make_objects(self, owner, count):
        with owner.schema():
            customer_id = CustomerFactory().pk
            return [draft_quote(owner.tenant, customer_id=customer_id).pk for _ in range(count)]


def create(tenant, **overrides):
    with tenant.schema():
        customer_id = CustomerFactory().pk
    return tenant.api().post("/quotes", {"customer_id": customer_id, "items": [ITEM]} | overrides)


def test_create_keeps_decimal_strings_and_defaults_validity(tenant_a):
    response = create(tenant_a)

    body = response.json()
    assert body["items"][0]["quantity"] == "1.5"
    assert body["items"][0]["tax_rate"] == "8.25"
    assert body["items"][0]["total"] == 6495
    assert body["valid_until"] is not None


def test_create_for_another_tenants_customer_is_404(tenant_a, tenant_b):
    with tenant_b.schema():
        foreign_customer = CustomerFactory().pk

    response = tenant_a.api().post("/quotes", {"customer_id": foreign_customer + 10_000, "items": [ITEM]})

    body = assert_refused(response, 404)
    assert body["errors"][0]["field"] == "customer_id"


def test_patch_replaces_items_and_bumps_version(tenant_a):
    quote = create(tenant_a).json()

    response = tenant_a.api().patch(
        f"/quotes/{quote['id']}",
        {"version": 1, "items": [ITEM, ITEM | {"discount": 1000}], "document_discount": 100},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["items"]) == 2
    assert body["version"] == 2
    assert body["discount_total"] == 1100
    assert body["subtotal"] - body["discount_total"] + body["tax_total"] == body["total"]


def test_patch_null_is_400(tenant_a):
    quote = create(tenant_a).json()

    assert_refused(tenant_a.api().patch(f"/quotes/{quote['id']}", {"version": 1, "valid_until": None}), 400)


def test_sent_quote_is_not_editable_nor_deletable(tenant_a):
    with tenant_a.schema():
        quote = sent_quote(tenant_a.tenant)

    patch = assert_refused(tenant_a.api().patch(f"/quotes/{quote.pk}", {"version": quote.version, "notes": "x"}), 409)
    delete = assert_refused(tenant_a.api().delete(f"/quotes/{quote.pk}"), 409)

    assert patch["errors"][0]["code"] == "not_editable"
    assert delete["errors"][0]["code"] == "numbered_document"


def test_status_route_sends_and_numbers(tenant_a):
    quote = create(tenant_a).json()

    response = tenant_a.api().patch(f"/quotes/{quote['id']}/status", {"status": "SENT"})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "SENT"
    assert response.json()["number"].startswith("Q-")
    assert response.json()["issued_at"] is not None


def test_illegal_status_is_409_with_allowed(tenant_a):
    quote = create(tenant_a).json()

    body = assert_refused(tenant_a.api().patch(f"/quotes/{quote['id']}/status", {"status": "ACCEPTED"}), 409)

    assert body["errors"][0] == {
        "code": "invalid_transition",
        "current": "DRAFT",
        "requested": "ACCEPTED",
        "allowed": ["SENT"],
    }


def test_unknown_status_is_400(tenant_a):
    quote = create(tenant_a).json()

    assert_refused(tenant_a.api().patch(f"/quotes/{quote['id']}/status", {"status": "WON"}), 400)


def test_sending_an_empty_quote_is_400(tenant_a):
    quote = create(tenant_a, items=[]).json()

    body = assert_refused(tenant_a.api().patch(f"/quotes/{quote['id']}/status", {"status": "SENT"}), 400)

    assert body["errors"][0]["code"] == "empty_document"


def test_convert_answers_invoice_then_409_with_its_id(tenant_a):
    with tenant_a.schema():
        quote = accepted_quote(tenant_a.tenant)

    first = tenant_a.api().post(f"/quotes/{quote.pk}/convert")
    second = tenant_a.api().post(f"/quotes/{quote.pk}/convert")

    assert first.status_code == 201, first.content
    invoice = first.json()
    assert invoice["quote_id"] == quote.pk
    assert invoice["status"] == "DRAFT"
    assert invoice["total"] == quote.total
    assert [item["description"] for item in invoice["items"]] == ["Labour"]
    body = assert_refused(second, 409)
    assert body["errors"][0] == {"code": "already_converted", "invoice_id": invoice["id"]}
    assert tenant_a.api().get(f"/quotes/{quote.pk}").json()["invoice_id"] == invoice["id"]


def accepted_quote_with_notes(tenant_a, notes: str):
    with tenant_a.schema():
        quote = accepted_quote(tenant_a.tenant)
        Quote.objects.filter(pk=quote.pk).update(notes=notes)
    return quote


def test_convert_copies_the_quotes_notes_by_default(tenant_a):
    quote = accepted_quote_with_notes(tenant_a, "Price holds for parts ordered by May.")

    invoice = tenant_a.api().post(f"/quotes/{quote.pk}/convert").json()

    assert invoice["notes"] == "Price holds for parts ordered by May."


@pytest.mark.parametrize("notes", ["", "Thank you for your business."])
def test_the_converter_may_give_the_invoice_its_own_notes(tenant_a, notes):
    quote = accepted_quote_with_notes(tenant_a, "Internal: quoted over the phone.")

    response = tenant_a.api().post(f"/quotes/{quote.pk}/convert", {"notes": notes})

    assert response.status_code == 201, response.content
    assert response.json()["notes"] == notes
    assert tenant_a.api().get(f"/quotes/{quote.pk}").json()["notes"] == "Internal: quoted over the phone."


def test_convert_refuses_unknown_fields(tenant_a):
    quote = accepted_quote_with_notes(tenant_a, "")

    body = assert_refused(tenant_a.api().post(f"/quotes/{quote.pk}/convert", {"note": "typo"}), 400)

    assert body["errors"][0]["field"] == "note"


def test_convert_of_a_sent_quote_is_409(tenant_a):
    with tenant_a.schema():
        quote = sent_quote(tenant_a.tenant)

    body = assert_refused(tenant_a.api().post(f"/quotes/{quote.pk}/convert"), 409)

    assert body["errors"][0]["code"] == "quote_not_accepted"


def test_pdf_is_a_pdf(tenant_a):
    with tenant_a.schema():
        quote = sent_quote(tenant_a.tenant)

    response = tenant_a.api().get(f"/quotes/{quote.pk}/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")


def test_a_drafts_pdf_is_served_unchanged_until_it_is_edited(tenant_a):
    draft = create(tenant_a).json()

    first = tenant_a.api().get(f"/quotes/{draft['id']}/pdf")
    again = tenant_a.api().get(f"/quotes/{draft['id']}/pdf")
    tenant_a.api().patch(f"/quotes/{draft['id']}", {"version": draft["version"], "items": [ITEM | {"quantity": "3"}]})
    edited = tenant_a.api().get(f"/quotes/{draft['id']}/pdf")

    assert first.status_code == edited.status_code == 200
    assert again.content == first.content
    assert edited.content != first.content


def test_list_filters_by_status_and_customer(tenant_a):
    with tenant_a.schema():
        sent = sent_quote(tenant_a.tenant)
        draft_quote(tenant_a.tenant, customer_id=sent.customer_id)

    by_status = tenant_a.api().get("/quotes", status="SENT").json()
    by_customer = tenant_a.api().get("/quotes", customer_id=sent.customer_id).json()

    assert [quote["id"] for quote in by_status["items"]] == [sent.pk]
    assert by_customer["count"] == 2
