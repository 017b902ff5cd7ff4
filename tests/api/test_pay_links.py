"""The customer who pays: the short pay link on the business's own host (printed on the PDF
as a link), the pages Checkout sends them back to, and that a link of one business opens on
its own host only, sending the customer back there whatever host they came from."""

from io import BytesIO

import requests
from django.core import signing
from django.utils import timezone
from pypdf import PdfReader

from shared_apps.tenants import queries as tenant_queries
from shared_apps.tenants.models import CustomDomain, Domain, Tenant
from tenant_apps.invoices.models import Invoice
from tenant_apps.invoices.services import render_invoice_pdf
from tenant_apps.payments import pay_links
from tests.isolation import assert_refused
from tests.stripe_sandbox import connect, deliver, events_of, follow_link
from tests.tenant_apps.invoices.factories import sent_invoice


def pay_link(test_tenant, *, on_api_host: bool = False) -> tuple[Invoice, dict]:
    """A sent invoice of a connected business and its pay-link answer (url, pay_url)."""
    connect(test_tenant)
    with test_tenant.schema():
        invoice = sent_invoice(test_tenant.tenant)
    answer = test_tenant.api(on_api_host=on_api_host).post(f"/invoices/{invoice.pk}/pay-link")
    assert answer.status_code == 200, answer.content
    return invoice, answer.json()


def legacy_link(test_tenant, invoice_id: int) -> str:
    """A long pay link as they were made before short links (still printed on old PDFs)."""
    token = signing.dumps([test_tenant.tenant.schema_name, invoice_id], salt="payments.pay-link", compress=True)
    return f"{pay_links.public_base_url()}/api/v1/payments/pay/{token}"


def checkout_session(sandbox, link: dict) -> dict:
    return sandbox.objects[link["url"].rsplit("/", 1)[1]]


def test_the_pay_link_is_short_on_the_business_host_and_opens_checkout(stripe_sandbox, tenant_a):
    _invoice, link = pay_link(tenant_a)

    followed = follow_link(link["pay_url"])

    base = pay_links.business_base_url(tenant=tenant_a.tenant)
    assert base.split("://", 1)[1].split(":")[0] == tenant_a.host
    assert link["pay_url"].startswith(f"{base}/p/")
    assert len(link["pay_url"]) - len(base) == len("/p/") + 23
    assert (followed.status_code, followed["Location"]) == (303, link["url"])


def test_after_paying_checkout_lands_on_a_thank_you_page(stripe_sandbox, tenant_a):
    invoice, link = pay_link(tenant_a)

    paid = requests.post(link["url"], data={"outcome": "succeeded"}, timeout=10).json()
    landed_before_the_event = follow_link(paid["redirect"])
    deliver(events_of(stripe_sandbox, "payment_intent.succeeded"))
    landed = follow_link(paid["redirect"])
    again = follow_link(link["pay_url"])

    assert paid["redirect"].startswith(f"{link['pay_url']}/paid?session_id=cs_")
    for page in (landed_before_the_event, landed, again):
        assert page.status_code == 200
        assert page["Content-Type"].startswith("text/html")
        assert b'<meta name="viewport" content="width=device-width, initial-scale=1">' in page.content
        assert tenant_a.tenant.name.encode() in page.content
        assert b"$" in page.content and f"{invoice.total / 100:,.2f}".encode() in page.content
    assert b"on its way" in landed_before_the_event.content
    assert b"Thank you" in landed.content and b"has been received" in landed.content
    assert b"is paid" in again.content


def test_leaving_checkout_lands_on_a_page_to_try_again(stripe_sandbox, tenant_a):
    _invoice, link = pay_link(tenant_a)
    session = checkout_session(stripe_sandbox, link)

    left = follow_link(session["cancel_url"])

    assert session["cancel_url"] == f"{link['pay_url']}/cancelled"
    assert left.status_code == 200 and left["Content-Type"].startswith("text/html")
    assert b"Try again" in left.content and f'href="{link["pay_url"]}"'.encode() in left.content


def test_a_cancelled_invoice_answers_a_page_not_json(stripe_sandbox, tenant_a):
    invoice, link = pay_link(tenant_a)
    with tenant_a.schema():
        Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.CANCELLED)

    followed = follow_link(link["pay_url"])

    assert followed.status_code == 409 and followed["Content-Type"].startswith("text/html")
    assert b"takes no payment" in followed.content


def test_what_the_business_wrote_is_escaped_on_the_page(stripe_sandbox, tenant_a):
    _invoice, link = pay_link(tenant_a)
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(name='<script>alert("x")</script> & Sons')
    tenant_queries.forget_all_tenants()
    requests.post(link["url"], data={"outcome": "succeeded"}, timeout=10)
    deliver(events_of(stripe_sandbox, "payment_intent.succeeded"))

    page = follow_link(link["pay_url"])

    assert page.status_code == 200
    assert page["Content-Security-Policy"].startswith("default-src 'none'")
    assert b"<script>" not in page.content
    assert b"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Sons" in page.content


# The business's own host, whatever host the customer came from


def test_checkout_sends_the_customer_back_to_the_business_host_not_the_requests(stripe_sandbox, tenant_a):
    invoice, link = pay_link(tenant_a, on_api_host=True)
    session = checkout_session(stripe_sandbox, link)
    legacy = follow_link(legacy_link(tenant_a, invoice.pk))

    base = pay_links.business_base_url(tenant=tenant_a.tenant)
    assert session["success_url"].startswith(f"{base}/p/")
    assert session["cancel_url"].startswith(f"{base}/p/")
    assert (legacy.status_code, legacy["Location"]) == (302, link["pay_url"])


def test_a_verified_domain_is_where_the_customer_pays_and_comes_back(stripe_sandbox, tenant_a):
    CustomDomain.objects.create(
        tenant=tenant_a.tenant, domain="pay.acme-a.test", verification_token="t", verified_at=timezone.now()
    )
    Domain.objects.create(tenant=tenant_a.tenant, domain="pay.acme-a.test", is_primary=False)
    tenant_queries.forget_all_tenants()
    _invoice, link = pay_link(tenant_a)
    session = checkout_session(stripe_sandbox, link)

    followed = follow_link(link["pay_url"])

    assert link["pay_url"].split("://", 1)[1].startswith("pay.acme-a.test")
    assert session["success_url"].split("://", 1)[1].startswith("pay.acme-a.test")
    assert followed.status_code == 303


def test_a_link_of_business_a_opened_on_business_bs_host_serves_nothing_of_a(stripe_sandbox, tenant_a, tenant_b):
    invoice, link = pay_link(tenant_a)
    session = checkout_session(stripe_sandbox, link)
    asked_before = len(stripe_sandbox.requests)

    answers = [
        follow_link(url, host=tenant_b.host)
        for url in (link["pay_url"], session["success_url"], session["cancel_url"], legacy_link(tenant_a, invoice.pk))
    ]

    for answer in answers:
        assert answer.status_code == 404  # a page; under /api/ (the long link) the error envelope
        assert invoice.number.encode() not in answer.content
        assert tenant_a.tenant.name.encode() not in answer.content
    assert len(stripe_sandbox.requests) == asked_before


def test_a_short_link_is_not_served_on_the_api_host_and_a_forged_one_nowhere(stripe_sandbox, tenant_a, settings):
    _invoice, link = pay_link(tenant_a)
    token = link["pay_url"].rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    on_api_host = follow_link(link["pay_url"], host=settings.BASE_DOMAIN)
    tampered = follow_link(link["pay_url"].replace(token, forged))
    garbage = follow_link(link["pay_url"].replace(token, "not-a-token!"))

    assert [page.status_code for page in (on_api_host, tampered, garbage)] == [404, 404, 404]
    assert_refused(tenant_a.api().get("/payments/pay/not-a-token"), 404)


# The PDF


def test_the_pdf_prints_the_short_link_on_one_line_as_a_link(stripe_sandbox, tenant_a):
    connect(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
        pdf = PdfReader(BytesIO(render_invoice_pdf(tenant=tenant_a.tenant, invoice_id=invoice.pk)))
        link = pay_links.pay_url(invoice_id=invoice.pk)

    text = "\n".join(page.extract_text() for page in pdf.pages)
    uris = [
        annotation.get_object()["/A"]["/URI"]
        for page in pdf.pages
        for annotation in page.get("/Annots") or []
        if annotation.get_object().get("/Subtype") == "/Link"
    ]

    assert link in text.splitlines()
    assert uris == [link]
