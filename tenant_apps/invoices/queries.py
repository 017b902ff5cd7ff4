"""Reading invoices: scoped to the current tenant schema and prefetched so a page costs a
constant number of queries (balances are stored on the row, not summed per invoice)."""

from django.db.models import QuerySet

from tenant_apps.billing.queries import filter_documents, get_document, lock_document
from tenant_apps.customers.history import HistoryEntry, HistoryWindow
from tenant_apps.invoices.models import Invoice


def _invoices() -> QuerySet[Invoice]:
    return Invoice.objects.prefetch_related("items")


def list_invoices(*, status: str | None = None, customer_id: int | None = None) -> QuerySet[Invoice]:
    """Invoices newest first, optionally of one status or one customer."""
    return filter_documents(_invoices(), status=status, customer_id=customer_id)


def get_invoice(*, invoice_id: int) -> Invoice:
    return get_document(_invoices(), document_id=invoice_id)


def get_invoice_for_update(*, invoice_id: int) -> Invoice:
    """The invoice locked until the caller's transaction ends (`billing.queries.lock_document`)."""
    return lock_document(Invoice, document_id=invoice_id)


def invoice_exists(*, invoice_id: int) -> bool:
    return Invoice.objects.filter(pk=invoice_id).exists()


def invoice_id_for_quote(*, quote_id: int) -> int | None:
    return Invoice.objects.filter(quote_id=quote_id).values_list("pk", flat=True).first()


def invoice_history(customer_id: int, window: HistoryWindow) -> list[HistoryEntry]:
    """The customer's invoices for their timeline, newest first, in one query."""
    invoices = window.rows(Invoice.objects.filter(customer_id=customer_id), time_field="created_at")
    return [
        HistoryEntry(
            kind="invoice",
            id=invoice.pk,
            occurred_at=invoice.created_at,
            title=f"Invoice {invoice.number or '(draft)'}",
            status=invoice.status,
            data={
                "number": invoice.number,
                "total": invoice.total,
                "amount_due": invoice.amount_due,
                "currency": invoice.currency,
            },
        )
        for invoice in invoices
    ]
