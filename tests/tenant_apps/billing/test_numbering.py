from datetime import UTC, date, datetime

import pytest
from django.db import transaction

from tenant_apps.billing.models import DocumentCounter, DocumentType
from tenant_apps.billing.numbering import assign_document_number, format_document_number
from tenant_apps.invoices.models import Invoice
from tenant_apps.invoices.services import change_invoice_status
from tenant_apps.quotes.models import Quote
from tenant_apps.quotes.services import change_quote_status
from tests.concurrency import run_at_once
from tests.tenant_apps.invoices.factories import draft_invoice
from tests.tenant_apps.quotes.factories import draft_quote


def test_number_format_pads_to_four_digits_and_grows_beyond():
    assert format_document_number(prefix="INV", year=2026, sequence=7) == "INV-2026-0007"
    assert format_document_number(prefix="Q", year=2026, sequence=12345) == "Q-2026-12345"


def test_numbers_count_per_type_and_reset_each_year(tenant_a):
    with tenant_a.schema(), transaction.atomic():
        numbers = [
            assign_document_number(document_type=DocumentType.QUOTE, year=2026, prefix="Q"),
            assign_document_number(document_type=DocumentType.QUOTE, year=2026, prefix="Q"),
            assign_document_number(document_type=DocumentType.INVOICE, year=2026, prefix="INV"),
            assign_document_number(document_type=DocumentType.QUOTE, year=2027, prefix="Q"),
        ]

    assert numbers == ["Q-2026-0001", "Q-2026-0002", "INV-2026-0001", "Q-2027-0001"]


def test_a_rolled_back_send_gives_its_number_back(tenant_a):
    with tenant_a.schema():
        with pytest.raises(RuntimeError), transaction.atomic():
            assign_document_number(document_type=DocumentType.INVOICE, year=2030, prefix="INV")
            raise RuntimeError("send failed after numbering")
        with transaction.atomic():
            number = assign_document_number(document_type=DocumentType.INVOICE, year=2030, prefix="INV")

    assert number == "INV-2030-0001"


def test_year_is_the_tenants_local_year(tenant_a):
    # 03:00 UTC on 1 January is still 31 December in New York (the test tenant's zone).
    new_year_utc = datetime(2031, 1, 1, 3, 0, tzinfo=UTC)
    with tenant_a.schema():
        invoice = draft_invoice(tenant_a.tenant)
        sent = change_invoice_status(
            tenant=tenant_a.tenant, invoice_id=invoice.pk, status=Invoice.Status.SENT, now=new_year_utc
        )

    assert sent.number == "INV-2030-0001"


def test_prefix_comes_from_the_tenant(tenant_a):
    tenant = tenant_a.tenant
    tenant_a.store_settings(quote_prefix="EST")
    with tenant_a.schema():
        quote = draft_quote(tenant, valid_until=date(2032, 7, 1))
        sent = change_quote_status(
            tenant=tenant,
            quote_id=quote.pk,
            status=Quote.Status.SENT,
            now=datetime(2032, 6, 1, 12, tzinfo=UTC),
        )

    assert sent.number == "EST-2032-0001"


@pytest.mark.concurrency
def test_twenty_drafts_sent_concurrently_get_numbers_one_to_twenty(committed_tenant):
    tenant = committed_tenant.tenant
    when = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)
    with committed_tenant.schema():
        draft_ids = [draft_quote(tenant, valid_until=date(2027, 1, 1)).pk for _ in range(20)]

    run_at_once(
        [
            lambda quote_id=quote_id: change_quote_status(
                tenant=tenant, quote_id=quote_id, status=Quote.Status.SENT, now=when
            )
            for quote_id in draft_ids
        ],
        tenant=tenant,
    )

    with committed_tenant.schema():
        numbers = sorted(Quote.objects.filter(pk__in=draft_ids).values_list("number", flat=True))
        counter = DocumentCounter.objects.get(document_type=DocumentType.QUOTE, year=2026)
    assert numbers == [f"Q-2026-{n:04d}" for n in range(1, 21)]
    assert counter.last_number == 20
