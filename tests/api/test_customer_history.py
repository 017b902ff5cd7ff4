"""The customer's timeline, paged by cursor."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenant_apps.invoices.models import Invoice
from tenant_apps.payments.models import Payment
from tenant_apps.quotes.models import Quote
from tenant_apps.sms.models import Message
from tests.factories import CustomerFactory
from tests.isolation import assert_refused

ITEM = {"description": "Boiler service", "quantity": "1", "unit_price": 10000}
TIED = datetime(2027, 6, 7, 13, 0, tzinfo=UTC)
EARLIER = datetime(2027, 6, 6, 13, 0, tzinfo=UTC)


def add_text(customer, body: str) -> None:
    Message.objects.create(
        direction="inbound", from_number=customer.phone, to_number="+12025550100", body=body, status="received",
        customer=customer,
    )  # fmt: skip


@pytest.fixture
def busy_customer(tenant_a) -> int:
    """A customer with two rows of every kind, most of them at one moment (ties on time): the
    first appointment starts at TIED, the second a day later."""
    api = tenant_a.api()
    with tenant_a.schema():
        customer = CustomerFactory()
    for starts_at, ends_at in (("2027-06-07T09:00:00-04:00", "2027-06-07T10:00:00-04:00"),
                               ("2027-06-08T09:00:00-04:00", "2027-06-08T10:00:00-04:00")):  # fmt: skip
        book = {"customer_id": customer.pk, "title": "Visit", "starts_at": starts_at, "ends_at": ends_at}
        assert api.post("/appointments", book).status_code == 201
    for _ in range(2):
        assert api.post("/quotes", {"customer_id": customer.pk, "items": [ITEM]}).status_code == 201
        invoice = api.post("/invoices", {"customer_id": customer.pk, "items": [ITEM]}).json()
        assert api.patch(f"/invoices/{invoice['id']}/status", {"status": "SENT"}).status_code == 200
        assert api.post(f"/invoices/{invoice['id']}/payments", {"amount": 100, "method": "cash"}).status_code == 201
    with tenant_a.schema():
        add_text(customer, "Hi")
        add_text(customer, "Thanks")
        Quote.objects.filter(customer=customer).update(created_at=TIED)
        Invoice.objects.filter(customer=customer).update(created_at=TIED)
        Payment.objects.filter(invoice__customer=customer).update(occurred_at=TIED)
        Message.objects.filter(customer=customer, body="Hi").update(created_at=EARLIER)
        Message.objects.filter(customer=customer, body="Thanks").update(created_at=TIED)
    return customer.pk


def page(tenant, customer: int, **query):
    response = tenant.api().get(f"/customers/{customer}/history", **query)
    assert response.status_code == 200, response.content
    return response.json()


def all_pages(tenant, customer: int, limit: int) -> list[tuple[str, int]]:
    seen, cursor = [], None
    while True:
        body = page(tenant, customer, limit=limit, **({"cursor": cursor} if cursor else {}))
        seen += [(entry["kind"], entry["id"]) for entry in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


def test_one_page_is_the_whole_timeline_newest_first_ties_by_kind_then_id(tenant_a, busy_customer):
    items = page(tenant_a, busy_customer, limit=200)["items"]

    keys = [(datetime.fromisoformat(e["occurred_at"]), e["kind"], e["id"]) for e in items]
    assert len(keys) == 10
    assert keys == sorted(keys, reverse=True)
    assert [kind for _, kind, _ in keys] == [
        "appointment", "sms", "quote", "quote", "payment", "payment", "invoice", "invoice", "appointment", "sms",
    ]  # fmt: skip


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_paging_returns_every_entry_once_in_order(tenant_a, busy_customer, limit):
    whole = [(entry["kind"], entry["id"]) for entry in page(tenant_a, busy_customer, limit=200)["items"]]

    assert all_pages(tenant_a, busy_customer, limit) == whole


def test_last_page_has_no_cursor(tenant_a, busy_customer):
    assert page(tenant_a, busy_customer, limit=10)["next_cursor"] is None
    assert page(tenant_a, busy_customer, limit=9)["next_cursor"] is not None


def test_a_deep_page_costs_the_first_pages_queries(tenant_a, busy_customer, django_assert_max_num_queries):
    def captured_page(**query):
        with CaptureQueriesContext(connection) as captured:
            body = page(tenant_a, busy_customer, limit=2, **query)
        return body, [q["sql"] for q in captured if not q["sql"].startswith("SET search_path")]

    page(tenant_a, busy_customer, limit=2)  # warm the tenant and membership caches
    first, first_queries = captured_page()
    second, _ = captured_page(cursor=first["next_cursor"])
    deep, deep_queries = captured_page(cursor=second["next_cursor"])

    assert len(deep_queries) == len(first_queries)
    assert not any("OFFSET" in sql for sql in deep_queries)
    # SET search_path, the customer's existence, then one query per source (appointments,
    # bookings, calls, invoices, payments, payment notices, hub links, quotes, quote answers,
    # sms, work requests).
    with django_assert_max_num_queries(13) as counted:
        page(tenant_a, busy_customer, limit=2, cursor=deep["next_cursor"])
    assert len([q for q in counted if not q["sql"].startswith("SET search_path")]) == 12


@pytest.mark.parametrize(
    "tamper",
    [
        lambda cursor: cursor[:-1] + ("A" if cursor[-1] != "A" else "B"),
        lambda cursor: cursor[:10],
        lambda cursor: "x" + cursor,
        lambda cursor: "not-a-cursor",
    ],
    ids=["signature", "truncated", "prefixed", "garbage"],
)
def test_tampered_cursor_is_400(tenant_a, busy_customer, tamper):
    cursor = page(tenant_a, busy_customer, limit=2)["next_cursor"]
    response = tenant_a.api().get(f"/customers/{busy_customer}/history", limit=2, cursor=tamper(cursor))

    body = assert_refused(response, 400)

    assert body["errors"][0]["field"] == "cursor"


def test_cursor_of_another_customer_is_400(tenant_a, busy_customer):
    cursor = page(tenant_a, busy_customer, limit=2)["next_cursor"]
    with tenant_a.schema():
        other = CustomerFactory().pk

    assert_refused(tenant_a.api().get(f"/customers/{other}/history", cursor=cursor), 400)


def test_cursor_of_another_business_customer_with_the_same_id_is_400(tenant_a, tenant_b, busy_customer):
    cursor = page(tenant_a, busy_customer, limit=2)["next_cursor"]
    with tenant_b.schema():
        namesake = CustomerFactory(id=busy_customer)
        add_text(namesake, "Hello")

    assert_refused(tenant_b.api().get(f"/customers/{busy_customer}/history", cursor=cursor), 400)


def test_other_tenant_with_a_valid_cursor_is_404(tenant_a, tenant_b, busy_customer):
    cursor = page(tenant_a, busy_customer, limit=2)["next_cursor"]

    assert_refused(tenant_b.api().get(f"/customers/{busy_customer}/history", cursor=cursor), 404)
    assert_refused(tenant_b.api(on_api_host=True).get(f"/customers/{busy_customer}/history", cursor=cursor), 404)
