"""What a user may ask of a quote's or an invoice's status: the allowed moves work, every
other one is refused and changes nothing."""

import pytest

from shared_apps.errors import InvalidTransition
from tenant_apps.invoices.models import Invoice
from tenant_apps.invoices.services import change_invoice_status
from tenant_apps.quotes.models import Quote
from tenant_apps.quotes.services import change_quote_status
from tests.tenant_apps.invoices.factories import INVOICE_IN
from tests.tenant_apps.quotes.factories import QUOTE_IN


def change_quote(tenant, document_id, status):
    return change_quote_status(tenant=tenant, quote_id=document_id, status=status)


def change_invoice(tenant, document_id, status):
    return change_invoice_status(tenant=tenant, invoice_id=document_id, status=status)


QS, IS = Quote.Status, Invoice.Status
# (a document in each status, change its status, the moves a user may ask for). Invoices:
# PARTIALLY_PAID / PAID follow payments, OVERDUE the due date.
KINDS = {
    "quote": (QUOTE_IN, change_quote, {(QS.DRAFT, QS.SENT), (QS.SENT, QS.ACCEPTED), (QS.SENT, QS.REJECTED)}),
    "invoice": (INVOICE_IN, change_invoice, {(IS.DRAFT, IS.SENT), (IS.SENT, IS.CANCELLED), (IS.OVERDUE, IS.CANCELLED)}),
}
ALLOWED = [(kind, *pair) for kind, (_, _, allowed) in KINDS.items() for pair in sorted(allowed)]
REFUSED = [
    (kind, current, requested)
    for kind, (made_in, _, allowed) in KINDS.items()
    for current in made_in
    for requested in made_in
    if (current, requested) not in allowed
]


@pytest.mark.parametrize(("kind", "current", "requested"), ALLOWED)
def test_allowed_transitions(tenant_a, kind, current, requested):
    made_in, change, _ = KINDS[kind]
    with tenant_a.schema():
        document = made_in[current](tenant_a.tenant)

        changed = change(tenant_a.tenant, document.pk, requested)

    assert changed.status == requested
    assert changed.number is not None
    assert changed.version == document.version + 1


@pytest.mark.parametrize(("kind", "current", "requested"), REFUSED)
def test_every_other_transition_is_refused(tenant_a, kind, current, requested):
    made_in, change, _ = KINDS[kind]
    with tenant_a.schema():
        document = made_in[current](tenant_a.tenant)

        with pytest.raises(InvalidTransition) as refused:
            change(tenant_a.tenant, document.pk, requested)
        document.refresh_from_db()

    assert refused.value.details[0]["current"] == current
    assert document.status == current
