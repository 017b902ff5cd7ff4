"""Appointments, quotes and invoices name the customer's property where the work is."""

from io import BytesIO

import pytest
from icalendar import Calendar
from pypdf import PdfReader

from tests.api.test_appointments import NINE, TEN
from tests.client import ApiClient
from tests.factories import CustomerFactory, PropertyFactory
from tests.isolation import assert_refused

ITEM = {"description": "Boiler service", "quantity": "1", "unit_price": 12000}
APPOINTMENT = {"title": "Boiler service", "starts_at": NINE, "ends_at": TEN}


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


@pytest.fixture
def places(tenant_a):
    """A customer with a property, and another customer's property."""
    with tenant_a.schema():
        mine = PropertyFactory(lines="12 High Street\nFlat 2", city="Leeds", postal_code="LS1 4AP")
        theirs = PropertyFactory()
    return mine, theirs


@pytest.mark.parametrize(
    ("path", "body"), [("/quotes", {"items": [ITEM]}), ("/invoices", {"items": [ITEM]}), ("/appointments", APPOINTMENT)]
)
def test_the_property_must_be_the_customers(tenant_a, places, path, body):
    mine, theirs = places

    created = tenant_a.api().post(path, body | {"customer_id": mine.customer_id, "property_id": mine.pk})
    foreign = tenant_a.api().post(path, body | {"customer_id": mine.customer_id, "property_id": theirs.pk})
    row = created.json()
    other_customer = tenant_a.api().patch(
        f"{path}/{row['id']}", {"customer_id": theirs.customer_id, "version": row["version"]}
    )
    moved = tenant_a.api().patch(
        f"{path}/{row['id']}",
        {"customer_id": theirs.customer_id, "property_id": theirs.pk, "version": row["version"]},
    )
    cleared = tenant_a.api().patch(f"{path}/{row['id']}", {"property_id": None, "version": row["version"] + 1})

    assert created.status_code == 201, created.content
    assert row["property_id"] == mine.pk
    assert assert_refused(foreign, 400)["errors"][0]["field"] == "property_id"
    # A new customer needs one of their properties (or none) with them.
    assert assert_refused(other_customer, 400)["errors"][0]["field"] == "property_id"
    assert (moved.json()["customer_id"], moved.json()["property_id"]) == (theirs.customer_id, theirs.pk)
    assert cleared.json()["property_id"] is None


def test_the_pdf_prints_the_service_address(tenant_a, places):
    mine, _ = places
    quote = (
        tenant_a.api()
        .post("/quotes", {"customer_id": mine.customer_id, "property_id": mine.pk, "items": [ITEM]})
        .json()
    )

    text = pdf_text(tenant_a.api().get(f"/quotes/{quote['id']}/pdf").content)

    assert "SERVICE ADDRESS" in text
    assert "12 High Street" in text
    assert "Flat 2" in text
    assert "Leeds LS1 4AP" in text


def test_a_converted_quotes_invoice_keeps_the_property(tenant_a, places):
    mine, _ = places
    quote = (
        tenant_a.api()
        .post("/quotes", {"customer_id": mine.customer_id, "property_id": mine.pk, "items": [ITEM]})
        .json()
    )
    tenant_a.api().patch(f"/quotes/{quote['id']}/status", {"status": "SENT"})
    tenant_a.api().patch(f"/quotes/{quote['id']}/status", {"status": "ACCEPTED"})

    invoice = tenant_a.api().post(f"/quotes/{quote['id']}/convert")

    assert invoice.status_code == 201, invoice.content
    assert invoice.json()["property_id"] == mine.pk


def test_a_property_in_use_is_kept(tenant_a, places):
    mine, _ = places
    tenant_a.api().post("/appointments", APPOINTMENT | {"customer_id": mine.customer_id, "property_id": mine.pk})
    path = f"/customers/{mine.customer_id}/properties/{mine.pk}"

    refused = tenant_a.api().delete(path)

    assert assert_refused(refused, 409)["errors"] == [{"code": "property_in_use"}]
    assert tenant_a.api().get(path).status_code == 200


def test_a_customer_with_a_property_in_use_is_archived_not_deleted(tenant_a, places):
    mine, _ = places
    tenant_a.api().post("/invoices", {"customer_id": mine.customer_id, "property_id": mine.pk, "items": [ITEM]})
    with tenant_a.schema():
        bare = CustomerFactory()
        PropertyFactory(customer=bare)

    assert tenant_a.api().delete(f"/customers/{mine.customer_id}").status_code == 204
    assert tenant_a.api().get(f"/customers/{mine.customer_id}").json()["archived_at"] is not None
    assert tenant_a.api().delete(f"/customers/{bare.pk}").status_code == 204
    assert_refused(tenant_a.api().get(f"/customers/{bare.pk}"), 404)


def test_the_calendar_feed_locates_a_visit_at_its_property(tenant_a, places):
    mine, _ = places
    with tenant_a.schema():
        mine.access_notes = "Key in the lockbox"
        mine.save()
    booked = (
        tenant_a.api()
        .post("/appointments", APPOINTMENT | {"customer_id": mine.customer_id, "property_id": mine.pk})
        .json()
    )
    feed = tenant_a.api().post("/appointments/calendar-feeds", {}).json()

    ics = ApiClient(host=tenant_a.host).get("/appointments/calendar.ics", token=feed["token"])
    event = next(iter(Calendar.from_ical(ics.content).walk("VEVENT")))

    assert str(event["uid"]).startswith(f"appointment-{booked['id']}@")
    assert str(event["location"]) == "12 High Street, Flat 2, Leeds LS1 4AP"
    assert "Access: Key in the lockbox" in str(event["description"])


@pytest.mark.parametrize(("path", "body"), [("/invoices", {"items": [ITEM]}), ("/appointments", APPOINTMENT)])
def test_another_business_property_is_not_the_customers(tenant_a, tenant_b, places, path, body):
    mine, _ = places
    with tenant_b.schema():
        theirs = PropertyFactory.create_batch(5)[-1]  # an id tenant A's schema has not reached

    refused = tenant_a.api().post(path, body | {"customer_id": mine.customer_id, "property_id": theirs.pk})

    assert assert_refused(refused, 400)["errors"][0]["field"] == "property_id"
