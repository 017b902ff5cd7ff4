"""Reading invoices: scoped to the current tenant schema and prefetched so a page costs a
constant number of queries (balances are stored on the row, not summed per invoice)."""

from django.db.models import QuerySet

from shared_apps.errors import NotFound
from tenant_apps.customers.history import HistoryEntry, HistoryWindow
from tenant_apps.invoices.models import Invoice


def _invoices() -> QuerySet[Invoice]:
    return Invoice.objects.prefetch_related("items")


def list_invoices(*, status: str | None = None, customer_id: int | None = None) -> QuerySet[Invoice]:
    """Invoices newest first, optionally of one status or one customer."""
    invoices = _invoices()
    if status is not None:
        invoices = invoices.filter(status=status)
    if customer_id is not None:
        invoices = invoices.filter(customer_id=customer_id)
    return invoices


def get_invoice(*, invoice_id: int) -> Invoice:
    invoice = _invoices().filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound("Invoice not found.")
    return invoice


def get_invoice_for_update(*, invoice_id: int) -> Invoice:
    """The invoice locked until the caller's transaction ends (lock order: quote, invoice, payment)."""
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("customer").filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound("Invoice not found.")
    return invoice


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
