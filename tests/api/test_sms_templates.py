from datetime import UTC, datetime

import pytest

from tenant_apps.appointments import services as appointment_services
from tenant_apps.sms.models import Message, SmsTemplate
from tests.factories import CustomerFactory
from tests.isolation import Route, TenantRouteCases, assert_refused
from tests.tenant_apps.invoices.factories import draft_invoice, sent_invoice
from tests.tenant_apps.quotes.factories import sent_quote
from tests.tenant_apps.sms import fixtures

SENDER = fixtures.SENDER
sender = fixtures.sender


class TestSmsTemplateIsolation(TenantRouteCases):
    routes = [
        Route("GET", "/sms/templates"),
        Route("POST", "/sms/templates", {"name": "Hello", "body": "Hi {customer_name}"}),
    ]
    object_routes = [
        Route("GET", "/sms/templates/{id}"),
        Route("PATCH", "/sms/templates/{id}", {"body": "Hello {customer_name}"}),
        Route("DELETE", "/sms/templates/{id}"),
    ]

    def make_object(self, owner) -> int:
        with owner.schema():
            return SmsTemplate.objects.create(name="On our way", body="{business_name} is on the way").pk


def make_template(test_tenant, body: str, name: str = "T") -> int:
    response = test_tenant.api().post("/sms/templates", {"name": name, "body": body})
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_managers_write_templates_and_members_read_them(tenant_a):
    created = tenant_a.api().post("/sms/templates", {"name": "Reminder", "body": "Hi {customer_name}, {business_name}"})
    template_id = created.json()["id"]

    by_staff = tenant_a.api(as_staff=True).post("/sms/templates", {"name": "X", "body": "Hi"})
    staff_edit = tenant_a.api(as_staff=True).patch(f"/sms/templates/{template_id}", {"name": "Y"})
    listed = tenant_a.api(as_staff=True).get("/sms/templates")
    renamed = tenant_a.api().patch(f"/sms/templates/{template_id}", {"name": "Tomorrow"})
    deleted = tenant_a.api().delete(f"/sms/templates/{template_id}")

    assert created.status_code == 201
    assert created.json()["variables"] == ["customer_name", "business_name"]
    assert_refused(by_staff, 403)
    assert_refused(staff_edit, 403)
    assert [item["name"] for item in listed.json()["items"]] == ["Reminder"]
    assert (renamed.status_code, renamed.json()["name"]) == (200, "Tomorrow")
    assert deleted.status_code == 204
    assert_refused(tenant_a.api().get(f"/sms/templates/{template_id}"), 404)


@pytest.mark.parametrize(
    ("body", "variable"), [("Tip here: {tip_url}", "tip_url"), ("Hi {Customer_Name}", "Customer_Name")]
)
def test_an_unknown_variable_is_refused_at_save_naming_it(tenant_a, body, variable):
    created = tenant_a.api().post("/sms/templates", {"name": "Pay", "body": body})
    template_id = make_template(tenant_a, "Hi {customer_name}")
    patched = tenant_a.api().patch(f"/sms/templates/{template_id}", {"body": body})

    for response in (created, patched):
        error = assert_refused(response, 400)["errors"][0]
        assert (error["field"], error["variable"]) == ("body", variable)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "body": "Hi"},
        {"name": "X", "body": ""},
        {"name": "X", "body": "x" * 1601},
        {"name": "X", "body": "Hi", "extra": 1},
        {"name": None, "body": "Hi"},
    ],
)
def test_bad_template_bodies_are_400(tenant_a, body):
    assert_refused(tenant_a.api().post("/sms/templates", body), 400)


def test_a_taken_name_is_409(tenant_a):
    make_template(tenant_a, "Hi", name="Same")

    assert_refused(tenant_a.api().post("/sms/templates", {"name": "Same", "body": "Hello"}), 409)


def test_send_renders_a_template_from_named_objects(sender):
    with sender.schema():
        customer = CustomerFactory(name="Dana Reyes", phone="+12025550111")
        invoice = sent_invoice(sender.tenant, customer_id=customer.pk)
        appointment = appointment_services.create_appointment(
            tenant=sender.tenant,
            customer_id=customer.pk,
            title="Boiler service",
            starts_at=datetime(2026, 3, 3, 19, 30, tzinfo=UTC),
            ends_at=datetime(2026, 3, 3, 20, 30, tzinfo=UTC),
        )
    template_id = make_template(
        sender,
        "Hi {customer_name}, {business_name} sees you {appointment_time}. Invoice {invoice_number}: {amount_due} due.",
    )

    response = sender.api(as_staff=True).post(
        "/sms/send",
        {
            "customer_id": customer.pk,
            "template_id": template_id,
            "variables": {"appointment_id": appointment.pk, "invoice_id": invoice.pk},
        },
    )

    assert response.status_code == 202, response.content
    with sender.schema():
        message = Message.objects.get(pk=response.json()["id"])
    # 19:30 UTC is 2:30 PM in New York (EST) on 3 March.
    assert message.body == (
        f"Hi Dana Reyes, {sender.tenant.name} sees you Tue 3 Mar, 2:30 PM. Invoice {invoice.number}: $43.28 due."
    )


def test_the_customer_comes_from_the_document_when_texting_a_number(sender):
    with sender.schema():
        customer = CustomerFactory(name="Lee Park", phone="+12025550112")
        quote = sent_quote(sender.tenant, customer_id=customer.pk)
    template_id = make_template(sender, "{customer_name}: quote {quote_number} for {quote_total}.")

    response = sender.api().post(
        "/sms/send", {"to": "+12025550999", "template_id": template_id, "variables": {"quote_id": quote.pk}}
    )

    with sender.schema():
        message = Message.objects.get(pk=response.json()["id"])
    assert message.body == f"Lee Park: quote {quote.number} for $43.28."


@pytest.mark.parametrize(
    ("body", "variables", "variable"),
    [
        ("Due {amount_due}", {}, "amount_due"),
        ("At {appointment_time}", {}, "appointment_time"),
        ("Quote {quote_number}", {}, "quote_number"),
        ("Hi {customer_name}", {}, "customer_name"),
    ],
)
def test_a_missing_value_at_send_is_400_naming_it(sender, body, variables, variable):
    template_id = make_template(sender, body)

    response = sender.api().post(
        "/sms/send", {"to": "+12025550999", "template_id": template_id, "variables": variables}
    )

    error = assert_refused(response, 400)["errors"][0]
    assert (error["field"], error["variable"]) == ("variables", variable)


def test_a_draft_invoice_has_no_number_to_fill(sender):
    with sender.schema():
        draft = draft_invoice(sender.tenant)
    template_id = make_template(sender, "Invoice {invoice_number}")

    response = sender.api().post(
        "/sms/send", {"to": "+12025550999", "template_id": template_id, "variables": {"invoice_id": draft.pk}}
    )

    assert assert_refused(response, 400)["errors"][0]["variable"] == "invoice_number"


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"to": "+12025550999", "body": "Hi", "template_id": 1}, 400),
        ({"to": "+12025550999"}, 400),
        ({"to": "+12025550999", "body": "Hi", "variables": {"invoice_id": 1}}, 400),
        ({"to": "+12025550999", "template_id": 1, "variables": {"pay_url": "x"}}, 400),
        ({"to": "+12025550999", "template_id": 1, "variables": {"invoice_id": "one"}}, 400),
        ({"to": "+12025550999", "template_id": 999999}, 404),
    ],
)
def test_bad_send_requests(sender, payload, status):
    assert_refused(sender.api().post("/sms/send", payload), status)


def test_another_businesss_template_or_rows_are_404(sender, tenant_b):
    with tenant_b.schema():
        b_template = SmsTemplate.objects.create(name="B", body="Hi {customer_name}")
        b_invoice = sent_invoice(tenant_b.tenant)
    a_template = make_template(sender, "Invoice {invoice_number}")

    other_template = sender.api().post("/sms/send", {"to": "+12025550999", "template_id": b_template.pk})
    other_invoice = sender.api().post(
        "/sms/send", {"to": "+12025550999", "template_id": a_template, "variables": {"invoice_id": b_invoice.pk}}
    )

    assert_refused(other_template, 404)
    assert_refused(other_invoice, 404)
