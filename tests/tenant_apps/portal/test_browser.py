"""The customer's pages in Chromium on a phone-sized window: the hub, approving a quote,
paying an invoice through the Stripe sandbox's Checkout. Screenshots of each page are kept
(tests/browser.py says where)."""

from tests.browser import PHONE_WIDTH, live_app, phone  # noqa: F401 - fixtures
from tests.portal import make_link
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
