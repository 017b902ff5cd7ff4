from copy import copy
from datetime import UTC, date, datetime

import pytest

from shared_apps.errors import Conflict
from tenant_apps.invoices.models import Invoice
from tenant_apps.invoices.services import convert_quote_to_invoice
from tenant_apps.quotes.models import Quote
from tenant_apps.quotes.services import change_quote_status, expire_quotes, update_quote
from tests.concurrency import run_at_once
from tests.tenant_apps.quotes.factories import accepted_quote, draft_quote

Status = Quote.Status


def test_accepted_quote_is_frozen(tenant_a):
    with tenant_a.schema():
        quote = accepted_quote(tenant_a.tenant)

        with pytest.raises(Conflict) as refused:
            update_quote(tenant=tenant_a.tenant, quote_id=quote.pk, version=quote.version, changes={"notes": "x"})

    assert refused.value.code == "not_editable"


def test_valid_until_defaults_from_the_tenants_validity_in_its_zone(tenant_a):
    tenant = copy(tenant_a.tenant)
    tenant.timezone = "Pacific/Auckland"
    tenant_a.store_settings(quote_validity_days=10)
    with tenant_a.schema():
        # 20:00 UTC on 1 May is already 2 May in Auckland.
        quote = draft_quote(tenant, now=datetime(2026, 5, 1, 20, 0, tzinfo=UTC))

    assert quote.valid_until == date(2026, 5, 12)


# The last instant `valid_until` 2026-03-10 is still valid, and the first it is not, per zone
# (Auckland is UTC+13 in March, Los Angeles UTC-7 after its 8 March DST change).
END_OF_DAY = [
    ("Pacific/Auckland", datetime(2026, 3, 10, 10, 59, 59, tzinfo=UTC), datetime(2026, 3, 10, 11, 0, tzinfo=UTC)),
    ("Europe/London", datetime(2026, 3, 10, 23, 59, 59, tzinfo=UTC), datetime(2026, 3, 11, 0, 0, tzinfo=UTC)),
    ("America/Los_Angeles", datetime(2026, 3, 11, 6, 59, 59, tzinfo=UTC), datetime(2026, 3, 11, 7, 0, tzinfo=UTC)),
]


def zoned_sent_quote(tenant_a, zone):
    tenant = copy(tenant_a.tenant)
    tenant.timezone = zone
    quote = draft_quote(tenant, valid_until=date(2026, 3, 10))
    change_quote_status(tenant=tenant, quote_id=quote.pk, status=Status.SENT, now=datetime(2026, 3, 1, tzinfo=UTC))
    return tenant, quote


@pytest.mark.parametrize(("zone", "last_valid", "first_expired"), END_OF_DAY)
def test_expire_quotes_at_the_end_of_the_local_day(tenant_a, zone, last_valid, first_expired):
    with tenant_a.schema():
        tenant, quote = zoned_sent_quote(tenant_a, zone)

        expired_early = expire_quotes(tenant=tenant, now=last_valid)
        expired_on_time = expire_quotes(tenant=tenant, now=first_expired)
        quote.refresh_from_db()

    assert (expired_early, expired_on_time) == (0, 1)
    assert quote.status == Status.EXPIRED


@pytest.mark.parametrize(("zone", "last_valid", "first_expired"), END_OF_DAY)
def test_accept_in_the_last_second_of_the_local_day(tenant_a, zone, last_valid, first_expired):
    with tenant_a.schema():
        tenant, quote = zoned_sent_quote(tenant_a, zone)

        accepted = change_quote_status(tenant=tenant, quote_id=quote.pk, status=Status.ACCEPTED, now=last_valid)

    assert accepted.status == Status.ACCEPTED


@pytest.mark.parametrize(("zone", "last_valid", "first_expired"), END_OF_DAY)
def test_accept_after_the_local_day_expires_the_quote(tenant_a, zone, last_valid, first_expired):
    with tenant_a.schema():
        tenant, quote = zoned_sent_quote(tenant_a, zone)

        with pytest.raises(Conflict) as refused:
            change_quote_status(tenant=tenant, quote_id=quote.pk, status=Status.ACCEPTED, now=first_expired)
        quote.refresh_from_db()

    assert refused.value.code == "quote_expired"
    assert quote.status == Status.EXPIRED


def test_expire_quotes_leaves_drafts_and_decided_quotes_alone(tenant_a):
    with tenant_a.schema():
        draft = draft_quote(tenant_a.tenant, valid_until=date(2030, 1, 1))
        accepted = accepted_quote(tenant_a.tenant, valid_until=date(2030, 1, 1))

        count = expire_quotes(tenant=tenant_a.tenant, now=datetime(2031, 1, 1, tzinfo=UTC))
        draft.refresh_from_db()
        accepted.refresh_from_db()

    assert count == 0
    assert (draft.status, accepted.status) == (Status.DRAFT, Status.ACCEPTED)


def test_convert_copies_items_and_links_both_ways(tenant_a):
    with tenant_a.schema():
        quote = accepted_quote(tenant_a.tenant, document_discount=100, notes="Thanks")

        invoice = convert_quote_to_invoice(tenant=tenant_a.tenant, quote_id=quote.pk)
        quote = Quote.objects.select_related("invoice").get(pk=quote.pk)
        items = list(invoice.items.values_list("description", "quantity", "unit_price", "total"))
        quote_items = list(quote.items.values_list("description", "quantity", "unit_price", "total"))

    assert quote.invoice == invoice
    assert invoice.quote_id == quote.pk
    assert items == quote_items
    assert (invoice.total, invoice.document_discount, invoice.notes) == (quote.total, 100, "Thanks")


@pytest.mark.concurrency
def test_concurrent_converts_make_exactly_one_invoice(committed_tenant):
    tenant = committed_tenant.tenant
    with committed_tenant.schema():
        quote = accepted_quote(tenant)
    callers = 5

    outcomes = run_at_once(
        [lambda: convert_quote_to_invoice(tenant=tenant, quote_id=quote.pk)] * callers, expected=Conflict, tenant=tenant
    )

    invoices = [outcome for outcome in outcomes if isinstance(outcome, Invoice)]
    conflicts = [outcome for outcome in outcomes if isinstance(outcome, Conflict)]
    with committed_tenant.schema():
        stored = list(Invoice.objects.filter(quote_id=quote.pk).values_list("pk", flat=True))
    assert len(invoices) == 1
    assert stored == [invoices[0].pk]
    assert [conflict.details for conflict in conflicts] == [[{"invoice_id": invoices[0].pk}]] * (callers - 1)
