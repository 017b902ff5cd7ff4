"""One timeline of everything about a customer, newest first.

Each module that has rows about a customer (appointments, quotes, invoices, payments, SMS,
calls) registers a source in its AppConfig.ready(); the customers app never imports them.
A source answers at most `limit` entries newest first with one query, so a history page costs
one query per source whatever its size."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from heapq import merge
from itertools import islice
from typing import Any


@dataclass(frozen=True)
class HistoryEntry:
    kind: str
    id: int
    occurred_at: datetime
    title: str
    status: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


# (customer_id, limit) -> at most `limit` entries, newest first, in one query.
HistorySource = Callable[[int, int], list[HistoryEntry]]

_sources: dict[str, HistorySource] = {}


def register_history_source(kind: str, source: HistorySource) -> None:
    """Add (or replace) the source for `kind`."""
    _sources[kind] = source


def customer_history(*, customer_id: int, limit: int, offset: int) -> tuple[list[HistoryEntry], int]:
    """One page of the customer's timeline and how many entries were merged for it. Every
    source is asked for `offset + limit` rows, which is all a page newest-first can need."""
    wanted = offset + limit
    streams = [source(customer_id, wanted) for _, source in sorted(_sources.items())]
    merged = list(merge(*streams, key=lambda entry: (entry.occurred_at, entry.kind, entry.id), reverse=True))
    return list(islice(merged, offset, offset + limit)), len(merged)
