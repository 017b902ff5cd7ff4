"""The customer's quotes and invoices through their link: shown as the PDF prints them,
answered with a typed name (recorded on the quote, its PDF and the timeline), downloaded,
and nothing of another customer's."""

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from django.test import Client
from pypdf import PdfReader

from tenant_apps.billing.items import price_items
from tenant_apps.customers.history import get_customer_history_page
from tenant_apps.quotes.models import Quote
from tests.events import emitted
from tests.factories import CustomerFactory
from tests.isolation import assert_refused
from tests.portal import make_link, page
from tests.tenant_apps.billing.factories import item
from tests.tenant_apps.invoices.factories import draft_invoice, paid_invoice, sent_invoice
from tests.tenant_apps.quotes.factories import accepted_quote, draft_quote, sent_quote

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"


@pytest.fixture
def quote_link(tenant_a):
    link = make_link(tenant_a)
    with tenant_a.schema():
        quote = sent_quote(tenant_a.tenant, customer_id=link.customer.pk, notes="Parts included.")
    return link, quote


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


def test_the_quote_page_shows_what_the_pdf_prints(quote_link):
    link, quote = quote_link

    shown = page(f"{link.path}/quotes/{quote.pk}", host=link.host)
    pdf = page(f"{link.path}/quotes/{quote.pk}/pdf", host=link.host)

    assert shown.status_code == 200
    html = shown.content.decode()
    printed = pdf_text(pdf.content)
    assert pdf["Content-Type"] == "application/pdf"
    for text in (quote.number, "Labour", "$43.28", "Parts included.", link.customer.name):
        assert text in html
        assert text in printed
    assert 'id="approve"' in html


def test_approving_records_the_typed_name_time_address_and_browser(tenant_a, quote_link):
    link, quote = quote_link

    answered = page(
        f"{link.path}/quotes/{quote.pk}/approve",
        host=link.host,
        method="POST",
        data={"name": "  Dana Whitfield "},
        user_agent=BROWSER,
    )

    assert answered.status_code == 303
    assert answered["Location"] == f"{link.path}/quotes/{quote.pk}?answered=accepted"
    with tenant_a.schema():
        quote = Quote.objects.get(pk=quote.pk)
        history = get_customer_history_page(customer_id=link.customer.pk, limit=10, cursor=None).items
    assert (quote.status, quote.decided_by_name, quote.decided_from_ip, quote.decided_user_agent) == (
        "ACCEPTED",
        "Dana Whitfield",
        "127.0.0.1",
        BROWSER,
    )
    shown = page(answered["Location"], host=link.host).content.decode()
    assert "Accepted by Dana Whitfield" in shown and 'id="approve"' not in shown
    printed = pdf_text(page(f"{link.path}/quotes/{quote.pk}/pdf", host=link.host).content)
    assert "Accepted by Dana Whitfield" in printed and "127.0.0.1" in printed
    [entry] = [entry for entry in history if entry.kind == "quote_answer"]
    assert entry.title == f"Quote {quote.number} accepted by Dana Whitfield"
    assert entry.data["user_agent"] == BROWSER
    [event] = emitted("quote.accepted")
    assert event.actor == f"customer:{link.customer.pk}"
    staff_view = tenant_a.api().get(f"/quotes/{quote.pk}").json()
    assert staff_view["decided_by_name"] == "Dana Whitfield"


def test_declining_records_the_reason(tenant_a, quote_link):
    link, quote = quote_link

    answered = link.api().post(
        link.json_path(f"/quotes/{quote.pk}/decline"), {"name": "Dana Whitfield", "reason": "Too dear."}
    )

    assert answered.status_code == 200, answered.content
    body = answered.json()
    assert (body["status"], body["awaits_answer"]) == ("REJECTED", False)
    assert body["decision"].startswith("Declined by Dana Whitfield") and body["decision"].endswith("Reason: Too dear.")
    [event] = emitted("quote.declined")
    assert event.actor == f"customer:{link.customer.pk}"


def test_an_answered_quote_cannot_be_answered_again(quote_link):
    link, quote = quote_link
    assert link.api().post(link.json_path(f"/quotes/{quote.pk}/accept"), {"name": "Dana"}).status_code == 200

    again = link.api().post(link.json_path(f"/quotes/{quote.pk}/decline"), {"name": "Dana"})
    page_again = page(f"{link.path}/quotes/{quote.pk}/decline", host=link.host, method="POST", data={"name": "Dana"})

    assert_refused(again, 409)
    assert page_again.status_code == 409


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_approving_without_a_proper_name_says_what_to_fix(quote_link, name):
    link, quote = quote_link

    refused = page(f"{link.path}/quotes/{quote.pk}/approve", host=link.host, method="POST", data={"name": name})
    refused_json = link.api().post(link.json_path(f"/quotes/{quote.pk}/accept"), {"name": name})

    assert refused.status_code == 400
    assert 'role="alert"' in refused.content.decode()
    assert_refused(refused_json, 400, 422)
    assert emitted("quote.accepted") == []


@pytest.mark.parametrize(
    "body", [{}, {"name": "Dana", "extra": 1}, {"name": 5}, {"name": "Dana", "reason": "x" * 2001}, "not json"]
)
def test_bad_answers_are_4xx_in_the_envelope(quote_link, body):
    link, quote = quote_link

    assert_refused(link.api().post(link.json_path(f"/quotes/{quote.pk}/decline"), body), 400, 422)


def test_the_customer_sees_nothing_of_another_customer_nor_drafts(tenant_a):
    link = make_link(tenant_a)
    with tenant_a.schema():
        others = sent_quote(tenant_a.tenant), sent_invoice(tenant_a.tenant)
        drafts = (
            draft_quote(tenant_a.tenant, customer_id=link.customer.pk),
            draft_invoice(tenant_a.tenant, customer_id=link.customer.pk),
        )

    for quote, invoice in (others, drafts):
        for path in (
            f"/quotes/{quote.pk}",
            f"/quotes/{quote.pk}/pdf",
            f"/invoices/{invoice.pk}",
            f"/invoices/{invoice.pk}/pdf",
        ):
            assert page(link.path + path, host=link.host).status_code == 404, path
            assert_refused(link.api().get(link.json_path(path)), 404)
        assert (
            page(
                f"{link.path}/quotes/{quote.pk}/approve", host=link.host, method="POST", data={"name": "X"}
            ).status_code
            == 404
        )
        assert_refused(link.api().post(link.json_path(f"/quotes/{quote.pk}/accept"), {"name": "X"}), 404)
    with tenant_a.schema():
        assert Quote.objects.get(pk=others[0].pk).status == "SENT"


def test_another_business_host_shows_nothing_of_the_documents(tenant_a, tenant_b, quote_link):
    link, quote = quote_link

    assert page(f"{link.path}/quotes/{quote.pk}", host=tenant_b.host).status_code == 404
    assert_refused(link.api(host=tenant_b.host).post(link.json_path(f"/quotes/{quote.pk}/accept"), {"name": "X"}), 404)
    with tenant_a.schema():
        assert Quote.objects.get(pk=quote.pk).status == "SENT"


@pytest.mark.parametrize("document_id", ["0", "99999999999999999999999", "-1"])
def test_out_of_range_ids_are_not_found(quote_link, document_id):
    link, _ = quote_link

    assert page(f"{link.path}/quotes/{document_id}", host=link.host).status_code == 404
    assert_refused(link.api().get(link.json_path(f"/invoices/{document_id}")), 400, 404, 422)


def test_the_invoice_page_shows_the_amount_due_and_the_pdf(tenant_a):
    link = make_link(tenant_a)
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant, customer_id=link.customer.pk)

    shown = page(f"{link.path}/invoices/{invoice.pk}", host=link.host).content.decode()
    body = link.api().get(link.json_path(f"/invoices/{invoice.pk}")).json()
    pdf = page(f"{link.path}/invoices/{invoice.pk}/pdf", host=link.host)

    assert invoice.number in shown and "$43.28" in shown
    assert (body["amount_due"], body["status"], body["pay_url"]) == (4328, "SENT", None)  # no card payments yet
    assert invoice.number in pdf_text(pdf.content)


def test_the_hub_lists_past_documents_apart(tenant_a):
    link = make_link(tenant_a)
    with tenant_a.schema():
        done = accepted_quote(tenant_a.tenant, customer_id=link.customer.pk)
        paid = paid_invoice(tenant_a.tenant)
    hub = link.api().get(link.json_path()).json()

    assert [quote["id"] for quote in hub["past_quotes"]] == [done.pk]
    assert hub["quotes_waiting"] == [] and paid.pk not in [invoice["id"] for invoice in hub["past_invoices"]]


# Optional items


@pytest.fixture
def optional_quote(tenant_a):
    """A quote of $43.28 with two optional items left out: +$50.00 (no tax) and +$10.83."""
    link = make_link(tenant_a)
    with tenant_a.schema():
        quote = sent_quote(
            tenant_a.tenant,
            customer_id=link.customer.pk,
            document_discount=0,
            items=[
                item(),
                item(
                    description="Gutter guard",
                    quantity=Decimal(1),
                    unit_price=5000,
                    tax_rate=Decimal(0),
                    optional=True,
                    selected=False,
                ),
                item(description="Moss treatment", quantity=Decimal(1), unit_price=1000, optional=True, selected=False),
            ],
        )
        rows = {row.description: row.pk for row in quote.items.all()}
    return link, quote, rows


def test_ticking_optional_items_reprices_the_quote_by_the_same_rules(tenant_a, optional_quote):
    link, quote, rows = optional_quote
    assert quote.total == 4328

    chosen = link.api().post(
        link.json_path(f"/quotes/{quote.pk}/options"), {"selected_item_ids": [rows["Gutter guard"]]}
    )

    assert chosen.status_code == 200, chosen.content
    body = chosen.json()
    with tenant_a.schema():
        expected = price_items(
            items=[item(), item(description="Gutter guard", quantity=Decimal(1), unit_price=5000, tax_rate=Decimal(0))],
            currency="usd",
            document_discount=0,
        )
    assert body["total"] == expected.total == 9328
    assert {row["description"]: row["selected"] for row in body["optional_items"]} == {
        "Gutter guard": True,
        "Moss treatment": False,
    }
    [event] = emitted("quote.options_chosen")
    assert (event.payload.selected_item_ids, event.payload.total) == ([rows["Gutter guard"]], 9328)
    printed = pdf_text(page(f"{link.path}/quotes/{quote.pk}/pdf", host=link.host).content)
    assert "Gutter guard" in printed and "$93.28" in printed and "OPTIONAL, NOT INCLUDED" in printed


def test_accepting_with_chosen_items_converts_to_an_invoice_of_those(tenant_a, optional_quote):
    link, quote, rows = optional_quote

    accepted = page(
        f"{link.path}/quotes/{quote.pk}/approve",
        host=link.host,
        method="POST",
        data={"name": "Dana", "choosing": "1", "item": [str(rows["Moss treatment"])]},
    )
    invoice = tenant_a.api().post(f"/quotes/{quote.pk}/convert", {}).json()

    assert accepted.status_code == 303
    assert [line["description"] for line in invoice["items"]] == ["Labour", "Moss treatment"]
    assert invoice["total"] == 4328 + 1000 + 83
    assert not any(line["optional"] for line in invoice["items"])


def test_options_of_another_quote_or_a_plain_item_are_refused(tenant_a, optional_quote):
    link, quote, rows = optional_quote
    with tenant_a.schema():
        other = sent_quote(tenant_a.tenant, items=[item(optional=True, selected=False)])
        other_item = other.items.get().pk

    for ids in ([other_item], [rows["Labour"]]):
        refused = link.api().post(link.json_path(f"/quotes/{quote.pk}/options"), {"selected_item_ids": ids})
        assert assert_refused(refused, 400)["errors"][0]["field"] == "selected_item_ids"
    assert_refused(link.api().post(link.json_path(f"/quotes/{other.pk}/options"), {"selected_item_ids": []}), 404)
    bad = page(
        f"{link.path}/quotes/{quote.pk}/options", host=link.host, method="POST", data={"choosing": "1", "item": ["x"]}
    )
    assert bad.status_code == 400
    assert emitted("quote.options_chosen") == []


def test_an_answered_quotes_options_are_frozen(optional_quote):
    link, quote, _rows = optional_quote
    link.api().post(link.json_path(f"/quotes/{quote.pk}/decline"), {"name": "Dana"})

    assert_refused(link.api().post(link.json_path(f"/quotes/{quote.pk}/options"), {"selected_item_ids": []}), 409)


def test_invoices_have_no_optional_items(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory()
    body = {
        "customer_id": customer.pk,
        "items": [{"description": "X", "quantity": "1", "unit_price": 100, "optional": True}],
    }

    refused = tenant_a.api().post("/invoices", body)

    assert assert_refused(refused, 400)["errors"][0]["field"] == "items.0.optional"
    made = tenant_a.api().post("/quotes", body)
    assert made.status_code == 201
    assert (made.json()["items"][0]["optional"], made.json()["items"][0]["selected"], made.json()["total"]) == (
        True,
        False,
        0,
    )


def test_accepting_after_the_last_valid_day_expires_the_quote(tenant_a, quote_link):
    link, quote = quote_link
    with tenant_a.schema():
        Quote.objects.filter(pk=quote.pk).update(valid_until=date(2020, 1, 1))

    late = link.api().post(link.json_path(f"/quotes/{quote.pk}/accept"), {"name": "Dana"})
    shown = page(f"{link.path}/quotes/{quote.pk}", host=link.host).content.decode()

    assert assert_refused(late, 409)["errors"][0]["code"] == "quote_expired"
    with tenant_a.schema():
        assert Quote.objects.get(pk=quote.pk).status == Quote.Status.EXPIRED
    assert 'id="approve"' not in shown


@pytest.mark.parametrize("form", ["multipart", "urlencoded"])
def test_a_nul_character_in_a_form_field_is_400_naming_it(quote_link, form):
    link, quote = quote_link
    path = f"{link.path}/quotes/{quote.pk}/approve"

    if form == "multipart":
        refused = page(path, host=link.host, method="POST", data={"name": "Da\x00na"})
    else:
        refused = Client(raise_request_exception=False).post(
            path, "name=Da%00na", content_type="application/x-www-form-urlencoded", HTTP_HOST=link.host
        )

    assert assert_refused(refused, 400)["errors"] == [
        {"field": "name", "message": "Must not contain NUL characters.", "code": "nul_character"}
    ]
    assert emitted("quote.accepted") == []
