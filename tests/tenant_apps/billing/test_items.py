"""The item limits of `documents.check_item_limits` hold for every caller of the quote and
invoice services, not only the API, and only for items being entered."""

import pytest

from shared_apps.errors import ValidationFailed
from tenant_apps.billing.items import MAX_DESCRIPTION_CHARS, MAX_DESCRIPTION_LINES, MAX_ITEMS
from tenant_apps.invoices.services import convert_quote_to_invoice, update_invoice
from tenant_apps.quotes.models import QuoteItem
from tests.tenant_apps.billing.factories import item
from tests.tenant_apps.invoices.factories import draft_invoice
from tests.tenant_apps.quotes.factories import accepted_quote, draft_quote

OVER_A_LIMIT = {
    "too_many_items": [item()] * (MAX_ITEMS + 1),
    "description_too_long": [item(description="x" * (MAX_DESCRIPTION_CHARS + 1))],
    "description_too_many_lines": [item(), item(description="line\n" * MAX_DESCRIPTION_LINES)],
}


@pytest.mark.parametrize("create", [draft_quote, draft_invoice])
@pytest.mark.parametrize("code", OVER_A_LIMIT)
def test_services_refuse_items_over_a_limit(tenant_a, create, code):
    with tenant_a.schema(), pytest.raises(ValidationFailed) as refused:
        create(tenant_a.tenant, items=OVER_A_LIMIT[code])

    assert refused.value.code == code


def test_editing_a_draft_checks_the_new_items(tenant_a):
    with tenant_a.schema():
        invoice = draft_invoice(tenant_a.tenant)
        with pytest.raises(ValidationFailed) as refused:
            update_invoice(
                tenant=tenant_a.tenant,
                invoice_id=invoice.pk,
                version=invoice.version,
                changes={"items": OVER_A_LIMIT["description_too_many_lines"]},
            )

    assert refused.value.message == f"items[1].description: at most {MAX_DESCRIPTION_LINES} lines"


def test_a_quote_stored_under_older_limits_still_converts(tenant_a):
    with tenant_a.schema():
        quote = accepted_quote(tenant_a.tenant)
        QuoteItem.objects.filter(quote=quote).update(description="line\n" * (MAX_DESCRIPTION_LINES * 2))

        invoice = convert_quote_to_invoice(tenant=tenant_a.tenant, quote_id=quote.pk)

        assert invoice.items.get().description.count("\n") == MAX_DESCRIPTION_LINES * 2
