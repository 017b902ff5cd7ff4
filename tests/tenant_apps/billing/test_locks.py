"""A locked quote or invoice (`lock_document`) still lets other transactions write rows that
reference it: the lock is FOR NO KEY UPDATE, like the customer and appointment locks."""

import threading

import pytest
from django.db import OperationalError, connection, transaction

from tenant_apps.invoices.queries import get_invoice_for_update
from tenant_apps.quotes.queries import get_quote_for_update
from tests.concurrency import JOIN_TIMEOUT
from tests.tenant_apps.invoices.factories import draft_invoice
from tests.tenant_apps.quotes.factories import draft_quote


def lock_invoice(document_id):
    return get_invoice_for_update(invoice_id=document_id)


def lock_quote(document_id):
    return get_quote_for_update(quote_id=document_id)


@pytest.mark.concurrency
@pytest.mark.parametrize(("make", "lock"), [(draft_invoice, lock_invoice), (draft_quote, lock_quote)])
def test_a_locked_document_takes_new_referencing_rows(committed_tenant, make, lock):
    tenant = committed_tenant.tenant
    with committed_tenant.schema():
        document = make(tenant)
    outcome: list[object] = []

    def add_an_item() -> None:
        connection.set_tenant(tenant)
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '2s'")
                row = document.items.first()
                row.pk = None
                row.position += 1
                row.save()
            outcome.append("written")
        except OperationalError as error:
            outcome.append(error)
        finally:
            connection.close()

    with committed_tenant.schema(), transaction.atomic():
        lock(document.pk)
        writer = threading.Thread(target=add_an_item)
        writer.start()
        writer.join(timeout=JOIN_TIMEOUT)

    assert not writer.is_alive()
    assert outcome == ["written"]
