"""The customer's pages in Chromium on a phone-sized window: the hub, approving a quote,
paying an invoice through the Stripe sandbox's Checkout. Screenshots of each page are kept
(tests/browser.py says where)."""

from dataclasses import replace
from decimal import Decimal

from tenant_apps.invoices.models import Invoice
from tenant_apps.quotes.models import Quote
from tests.browser import PHONE_WIDTH, live_app, phone  # noqa: F401 - fixtures
from tests.portal import make_link
from tests.stripe_sandbox import connect, deliver, events_of
from tests.tenant_apps.billing.factories import item
from tests.tenant_apps.invoices.factories import sent_invoice
from tests.tenant_apps.quotes.factories import sent_quote


def test_the_hub_reads_on_a_phone(committed_tenant, live_app, phone):  # noqa: F811 - fixtures
    link = make_link(committed_tenant)
    with committed_tenant.schema():
        quote = sent_quote(committed_tenant.tenant, customer_id=link.customer.pk)
        invoice = sent_invoice(committed_tenant.tenant, customer_id=link.customer.pk)

    phone.open(link.url)
    phone.screenshot("hub")

    assert f"Hello {link.customer.name}" in phone.text
    assert f"Quote {quote.number}" in phone.text
    assert f"Invoice {invoice.number}" in phone.text
    assert phone.find("header.site").text == committed_tenant.tenant.name
    assert phone.page_width() <= PHONE_WIDTH


def test_approving_a_quote_with_a_typed_name_and_an_optional_item(
    committed_tenant,
    live_app,  # noqa: F811 - fixtures
    phone,  # noqa: F811
):
    link = make_link(committed_tenant)
    gutter_guard = item(description="Gutter guard", quantity=Decimal(1), unit_price=5000, tax_rate=Decimal(0))
    with committed_tenant.schema():
        quote = sent_quote(
            committed_tenant.tenant,
            customer_id=link.customer.pk,
            items=[item(), replace(gutter_guard, optional=True, selected=False)],
        )
        optional = quote.items.get(optional=True)

    phone.open(link.url)
    phone.click_text(f"Quote {quote.number}")
    phone.screenshot("quote")
    assert phone.page_width() <= PHONE_WIDTH
    assert phone.find("#total").text == "$43.28"
    phone.find(f"#item-{optional.pk}").click()
    phone.find("#update-total").click()
    phone.screenshot("option-ticked")
    assert phone.find("#total").text == "$93.28"
    assert phone.find(f"#item-{optional.pk}").is_selected()
    phone.find("#approve-name").send_keys("Dana Whitfield")
    phone.screenshot("name-typed")
    phone.find("#approve").click()
    phone.screenshot("approved")

    assert "the quote is approved" in phone.text
    assert phone.find("#decision").text.startswith("Accepted by Dana Whitfield on ")
    assert not phone.find_all("#approve")
    with committed_tenant.schema():
        answered = Quote.objects.get(pk=quote.pk)
    assert (answered.status, answered.decided_by_name, answered.decided_from_ip) == (
        "ACCEPTED",
        "Dana Whitfield",
        "127.0.0.1",
    )
    assert "Chrome" in answered.decided_user_agent
    assert answered.total == 9328


def test_paying_an_invoice_by_card_lands_on_the_paid_page(
    committed_tenant,
    live_app,  # noqa: F811 - fixtures
    phone,  # noqa: F811
    stripe_sandbox,
):
    connect(committed_tenant)
    link = make_link(committed_tenant)
    with committed_tenant.schema():
        invoice = sent_invoice(committed_tenant.tenant, customer_id=link.customer.pk)

    phone.open(f"{link.url}/invoices/{invoice.pk}")
    phone.screenshot("invoice")
    phone.find("#pay").click()
    phone.screenshot("checkout")
    assert phone.find("#amount").text == "43.28 USD"
    phone.find("#pay").click()
    phone.screenshot("paid-on-its-way")
    assert phone.url.startswith(f"{link.url.split('/c/')[0]}/p/")
    assert "Thank you!" in phone.text and "on its way" in phone.text
    deliver(events_of(stripe_sandbox, "payment_intent.succeeded"))
    phone.driver.refresh()
    phone.screenshot("paid")
    assert "has been received" in phone.text
    with committed_tenant.schema():
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID
    phone.open(link.url)
    phone.screenshot("hub-after")
    assert "Nothing to pay." in phone.text
