"""Reading quotes: every read scopes to the current tenant schema and prefetches what the
API prints, so a page of quotes costs the same few queries whatever its size."""

from django.db.models import QuerySet

from tenant_apps.billing.queries import filter_documents, get_document, lock_document
from tenant_apps.customers.history import HistoryEntry, HistoryWindow
from tenant_apps.quotes.models import Quote


def _quotes() -> QuerySet[Quote]:
    return Quote.objects.select_related("invoice").prefetch_related("items")


def list_quotes(*, status: str | None = None, customer_id: int | None = None) -> QuerySet[Quote]:
    """Quotes newest first, optionally of one status or one customer."""
    return filter_documents(_quotes(), status=status, customer_id=customer_id)


def get_quote(*, quote_id: int) -> Quote:
    return get_document(_quotes(), document_id=quote_id)


def get_quote_for_update(*, quote_id: int) -> Quote:
    """The quote locked until the caller's transaction ends (`billing.queries.lock_document`)."""
    return lock_document(Quote, document_id=quote_id)


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


def quote_answer_history(customer_id: int, window: HistoryWindow) -> list[HistoryEntry]:
    """The answers the customer gave through their hub link (who typed what name, when, from
    where), for their timeline, newest first, in one query."""
    answered = Quote.objects.filter(customer_id=customer_id, decided_at__isnull=False).exclude(decided_by_name="")
    return [
        HistoryEntry(
            kind="quote_answer",
            id=quote.pk,
            occurred_at=quote.decided_at,
            title=f"Quote {quote.number} {'accepted' if quote.status == Quote.Status.ACCEPTED else 'declined'} "
            f"by {quote.decided_by_name}",
            status=quote.status,
            data={
                "quote_id": quote.pk,
                "number": quote.number,
                "name": quote.decided_by_name,
                "ip": quote.decided_from_ip,
                "user_agent": quote.decided_user_agent,
                "reason": quote.decline_reason,
            },
        )
        for quote in window.rows(answered, time_field="decided_at")
        if quote.decided_at is not None
    ]
