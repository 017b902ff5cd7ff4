"""One timeline of everything about a customer, newest first, paged by cursor.

Each module that has rows about a customer (appointments, quotes, invoices, payments, SMS,
calls) registers a source in its AppConfig.ready(); the customers app never imports them.
The timeline is ordered by (time, kind, id), newest first. A page asks every source for at
most `limit + 1` rows after the cursor with one keyset query (no OFFSET), merges them and
keeps `limit`: a page costs one query per source, and a deep page costs what the first does.
There is no total: counting a whole timeline would cost a query per source on every page."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from heapq import merge
from itertools import islice
from typing import Any, TypeVar

from django.core import signing
from django.db import connection
from django.db.models import Model, Q, QuerySet

from shared_apps.errors import ValidationFailed
from tenant_apps.customers.queries import get_customer

_CURSOR_SALT = "customers.history.cursor"

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class HistoryEntry:
    kind: str
    id: int
    occurred_at: datetime
    title: str
    status: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def position(self) -> "HistoryPosition":
        return HistoryPosition(occurred_at=self.occurred_at, kind=self.kind, id=self.id)


@dataclass(frozen=True, order=True)
class HistoryPosition:
    """Where an entry sits in the timeline; the timeline runs from the greatest down."""

    occurred_at: datetime
    kind: str
    id: int


@dataclass(frozen=True)
class HistoryWindow:
    """What one source is asked for: its next `limit` rows, newest first, after `after`."""

    kind: str
    limit: int
    after: HistoryPosition | None

    def rows(self, queryset: QuerySet[M], *, time_field: str) -> QuerySet[M]:
        """`queryset` (the customer's rows of this source) ordered and cut to this window:
        the keyset condition leads with the time column, so an index on (customer, time)
        serves it however deep the page is."""
        ordered = queryset.order_by(f"-{time_field}", "-id")
        after = self.after
        if after is not None:
            earlier = Q(**{f"{time_field}__lt": after.occurred_at})
            if self.kind == after.kind:
                # The cursor's own kind continues below its id at the same time; the leading
                # `<=` keeps the condition a range on the time column.
                earlier = Q(**{f"{time_field}__lte": after.occurred_at}) & (earlier | Q(id__lt=after.id))
            elif self.kind < after.kind:
                # At the same time a kind sorting before the cursor's comes after it.
                earlier = Q(**{f"{time_field}__lte": after.occurred_at})
            ordered = ordered.filter(earlier)
        return ordered[: self.limit]


# (customer_id, window) -> at most `window.limit` entries, newest first, in one query.
HistorySource = Callable[[int, HistoryWindow], list[HistoryEntry]]

_sources: dict[str, HistorySource] = {}


def register_history_source(kind: str, source: HistorySource) -> None:
    """Add (or replace) the source for `kind`."""
    _sources[kind] = source


def encode_cursor(*, customer_id: int, position: HistoryPosition) -> str:
    """An opaque, signed token for "after `position`" in this customer's timeline; bound to
    the business (its schema) and the customer, since customer ids repeat across businesses."""
    schema_name = connection.schema_name  # type: ignore[attr-defined]  # django-tenants' database backend
    payload = [schema_name, customer_id, position.occurred_at.isoformat(), position.kind, position.id]
    return signing.dumps(payload, salt=_CURSOR_SALT, compress=True)


def decode_cursor(*, customer_id: int, cursor: str) -> HistoryPosition:
    """The position a cursor from `encode_cursor` names; anything else (edited, truncated,
    another customer's, another business's) is refused."""
    try:
        schema_name, owner, occurred_at, kind, entry_id = signing.loads(cursor, salt=_CURSOR_SALT)
        position = HistoryPosition(occurred_at=datetime.fromisoformat(occurred_at), kind=str(kind), id=int(entry_id))
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise ValidationFailed(
            "Invalid history cursor.", details=[{"field": "cursor", "message": "Not a cursor from this history."}]
        ) from error
    if (schema_name, owner) != (connection.schema_name, customer_id):  # type: ignore[attr-defined]  # django-tenants
        raise ValidationFailed(
            "Invalid history cursor.", details=[{"field": "cursor", "message": "Cursor of another customer."}]
        )
    return position


def customer_history(
    *, customer_id: int, limit: int, after: HistoryPosition | None = None
) -> tuple[list[HistoryEntry], bool]:
    """Up to `limit` entries of the timeline after `after` (from the newest when None), and
    whether more follow."""
    streams = [
        source(customer_id, HistoryWindow(kind=kind, limit=limit + 1, after=after))
        for kind, source in sorted(_sources.items())
    ]
    merged = list(islice(merge(*streams, key=HistoryEntry.position, reverse=True), limit + 1))
    return merged[:limit], len(merged) > limit


@dataclass(frozen=True)
class HistoryPage:
    items: list[HistoryEntry]
    next_cursor: str | None


def get_customer_history_page(*, customer_id: int, limit: int, cursor: str | None = None) -> HistoryPage:
    """One page of an existing customer's timeline: from the newest, or after `cursor` (the
    `next_cursor` of the page before). `next_cursor` is None on the last page."""
    get_customer(customer_id=customer_id)
    after = decode_cursor(customer_id=customer_id, cursor=cursor) if cursor else None
    entries, more = customer_history(customer_id=customer_id, limit=limit, after=after)
    next_cursor = encode_cursor(customer_id=customer_id, position=entries[-1].position()) if more else None
    return HistoryPage(items=entries, next_cursor=next_cursor)
