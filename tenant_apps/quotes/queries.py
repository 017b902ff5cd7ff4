"""Reading quotes: every read scopes to the current tenant schema and prefetches what the
API prints, so a page of quotes costs the same few queries whatever its size."""

from django.db.models import QuerySet

from shared_apps.errors import NotFound
from tenant_apps.customers.history import HistoryEntry, HistoryWindow
from tenant_apps.quotes.models import Quote


def _quotes() -> QuerySet[Quote]:
    return Quote.objects.select_related("invoice").prefetch_related("items")


def list_quotes(*, status: str | None = None, customer_id: int | None = None) -> QuerySet[Quote]:
    """Quotes newest first, optionally of one status or one customer."""
    quotes = _quotes()
    if status is not None:
        quotes = quotes.filter(status=status)
    if customer_id is not None:
        quotes = quotes.filter(customer_id=customer_id)
    return quotes


def get_quote(*, quote_id: int) -> Quote:
    quote = _quotes().filter(pk=quote_id).first()
    if quote is None:
        raise NotFound("Quote not found.")
    return quote


def get_quote_for_update(*, quote_id: int) -> Quote:
    """The quote locked until the caller's transaction ends (lock order: quote, invoice, payment)."""
    quote = Quote.objects.select_for_update(of=("self",)).select_related("customer").filter(pk=quote_id).first()
    if quote is None:
        raise NotFound("Quote not found.")
    return quote


def quote_history(customer_id: int, window: HistoryWindow) -> list[HistoryEntry]:
    """The customer's quotes for their timeline, newest first, in one query."""
    quotes = window.rows(Quote.objects.filter(customer_id=customer_id), time_field="created_at")
    return [
        HistoryEntry(
            kind="quote",
            id=quote.pk,
            occurred_at=quote.created_at,
            title=f"Quote {quote.number or '(draft)'}",
            status=quote.status,
            data={"number": quote.number, "total": quote.total, "currency": quote.currency},
        )
        for quote in quotes
    ]
