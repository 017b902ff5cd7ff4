from tests.api.generic import CreateTests, DeleteTests, GetTests, ListTests, VersionedUpdateTests
from tests.factories import CustomerFactory
from tests.isolation import Route, assert_refused
from tests.tenant_apps.invoices.factories import draft_invoice, sent_invoice

ITEM = {"description": "Boiler service", "quantity": "1", "unit_price": 10000, "tax_rate": "5"}
PAYMENT = {"amount": 100, "method": "cash"}


class TestInvoiceAPI(ListTests, GetTests, CreateTests, VersionedUpdateTests, DeleteTests):
    # Its item schema has more than columns (nested rows, computed values): Ninja's path.
    list_from_values = False
    path = "/invoices"
    routes = [
        Route("GET", "/invoices"),
        Route("POST", "/invoices", {"customer_id": 1, "items": [ITEM]}),
    ]
    object_routes = [
        Route("GET", "/invoices/{id}"),
        Route("PATCH", "/invoices/{id}", {"version": 1, "notes": "Hijacked"}),
        Route("DELETE", "/invoices/{id}"),
        Route("PATCH", "/invoices/{id}/status", {"status": "CANCELLED"}),
        Route("GET", "/invoices/{id}/payments"),
        Route("POST", "/invoices/{id}/payments", PAYMENT),
        Route("GET", "/invoices/{id}/pdf"),
    ]

    # Priced in the currency's own minor units (JPY has none), with a balance.
    create_expected = {
        "currency": "jpy",
        "subtotal": 3085,
        "tax_total": 154,
        "total": 3239,
        "amount_paid": 0,
        "amount_due": 3239,
        "quote_id": None,
    }
    update_data = {"version": 1, "due_date": "2031-02-03"}
    update_expected = {"due_date": "2031-02-03"}

    def create_data(self, owner):
        with owner.schema():
            customer_id = CustomerFactory().pk
        yen_item = ITEM | {"unit_price": 1234, "quantity": "2.5"}
        return {"customer_id": customer_id, "currency": "JPY", "items": [yen_item]}

    def make_object(self, owner):
        with owner.schema():
            return draft_invoice(owner.tenant).pk

    def make_objects(self, owner, count):
        with owner.schema():
            customer_id = CustomerFactory().pk
            return [draft_invoice(owner.tenant, customer_id=customer_id).pk for _ in range(count)]


def create(tenant, **overrides):
    with tenant.schema():
        customer_id = CustomerFactory().pk
    return tenant.api().post("/invoices", {"customer_id": customer_id, "items": [ITEM]} | overrides)


def test_create_defaults_due_date_from_terms(tenant_a):
    response = create(tenant_a)

    assert response.json()["due_date"] is not None


def test_send_then_pay_in_two_parts(tenant_a):
    invoice = create(tenant_a).json()
    sent = tenant_a.api().patch(f"/invoices/{invoice['id']}/status", {"status": "SENT"}).json()

    first = tenant_a.api().post(f"/invoices/{invoice['id']}/payments", {"amount": 4000, "method": "check"})
    second = tenant_a.api().post(
        f"/invoices/{invoice['id']}/payments", {"amount": 6500, "method": "bank_transfer", "reference": "TX-9"}
    )

    assert sent["number"].startswith("INV-")
    assert first.status_code == 201, first.content
    assert first.json()["invoice"]["status"] == "PARTIALLY_PAID"
    assert first.json()["invoice"]["amount_due"] == 6500
    assert second.json()["invoice"]["status"] == "PAID"
    assert second.json()["payment"]["reference"] == "TX-9"
    ledger = tenant_a.api().get(f"/invoices/{invoice['id']}/payments").json()
    assert [row["amount"] for row in ledger["items"]] == [6500, 4000]


def test_overpayment_is_409(tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)

    body = assert_refused(
        tenant_a.api().post(f"/invoices/{invoice.pk}/payments", {"amount": invoice.total + 1, "method": "cash"}), 409
    )

    assert body["errors"][0] == {"code": "overpayment", "amount_due": invoice.total}


def test_payment_on_a_draft_is_409(tenant_a):
    invoice = create(tenant_a).json()

    body = assert_refused(tenant_a.api().post(f"/invoices/{invoice['id']}/payments", PAYMENT), 409)

    assert body["errors"][0]["code"] == "invoice_not_payable"


def test_card_and_naive_times_are_not_manual_payments(tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)

    card = tenant_a.api().post(f"/invoices/{invoice.pk}/payments", {"amount": 100, "method": "card"})
    naive = tenant_a.api().post(f"/invoices/{invoice.pk}/payments", PAYMENT | {"occurred_at": "2026-05-01T10:00:00"})

    assert_refused(card, 400)
    assert_refused(naive, 400)


def test_paid_status_cannot_be_declared(tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)

    body = assert_refused(tenant_a.api().patch(f"/invoices/{invoice.pk}/status", {"status": "PAID"}), 409)

    assert body["errors"][0]["allowed"] == ["CANCELLED"]


def test_cancel_a_sent_invoice_but_never_delete_it(tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)

    deleted = tenant_a.api().delete(f"/invoices/{invoice.pk}")
    cancelled = tenant_a.api().patch(f"/invoices/{invoice.pk}/status", {"status": "CANCELLED"})

    assert assert_refused(deleted, 409)["errors"][0]["code"] == "numbered_document"
    assert cancelled.json()["status"] == "CANCELLED"
    assert cancelled.json()["number"] == invoice.number


def test_pdf_of_a_sent_invoice_is_served_unchanged_until_it_changes(tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)

    first = tenant_a.api().get(f"/invoices/{invoice.pk}/pdf")
    again = tenant_a.api().get(f"/invoices/{invoice.pk}/pdf")
    tenant_a.api().post(f"/invoices/{invoice.pk}/payments", PAYMENT)
    after_payment = tenant_a.api().get(f"/invoices/{invoice.pk}/pdf")

    assert first["Content-Type"] == "application/pdf"
    assert first.content.startswith(b"%PDF-")
    assert again.content == first.content
    assert after_payment.content != first.content


def test_staff_may_record_a_payment(tenant_a):
    with tenant_a.schema():
        invoice = draft_invoice(tenant_a.tenant)
    tenant_a.api().patch(f"/invoices/{invoice.pk}/status", {"status": "SENT"})

    response = tenant_a.api(as_staff=True).post(f"/invoices/{invoice.pk}/payments", PAYMENT)

    assert response.status_code == 201
    assert response.json()["payment"]["recorded_by"] == tenant_a.staff.pk
