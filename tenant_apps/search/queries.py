"""One search box over a business: customers, appointments, quotes, invoices, texts and calls.

PostgreSQL does the work in the tenant's own schema, on the `search_document` columns and
indexes of this app's migration: full-text matches (`websearch_to_tsquery`, which never fails
on user input: operators, quotes and punctuation are read as words or dropped) ranked by field
weight, plus trigram similarity for typos in names and titles, substrings of document numbers
and runs of digits inside phone numbers. One query answers a page: every kind's matches are
scored in a UNION, the page is cut with a keyset condition on (score, kind, id), and only the
page's rows get a highlighted snippet. A page costs one query however deep it is, though each
page re-scores its candidates (there is no cheaper top-k for ranked full-text search)."""

import hashlib
import html
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core import signing
from django.db import connection

from shared_apps.errors import ValidationFailed

KINDS = ("customer", "appointment", "quote", "invoice", "text", "call")

_CURSOR_SALT = "search.cursor"
# ts_headline marks matches with these; the snippet is then HTML-escaped and they become <mark>.
_START, _STOP = "\x02", "\x03"
_HEADLINE_OPTIONS = f"StartSel={_START}, StopSel={_STOP}, MaxWords=30, MinWords=12"
# The headline reads at most this much of each row's text (a transcript can be long).
_HEADLINE_TEXT = 20000
# An exact document number, phone number or email outranks any word match.
_EXACT = 10
# Of a word found in more rows of one kind, only the newest this many are scored: ranking
# costs per matching row, and a page past the first few hundred hits is never read.
CANDIDATES_PER_KIND = 500

_TSQUERY = "websearch_to_tsquery('search_text', %(text)s)"


def _ranked(weighted_document: str) -> str:
    return f"ts_rank({weighted_document}, {_TSQUERY})"


def _documents(kind: str, table: str, items: str, parent: str) -> str:
    """Quotes or invoices: matched on their own number and notes, or through an item."""
    return f"""
    SELECT '{kind}' AS kind, d.id, coalesce(d.number, 'Draft {kind}') AS title, m.score FROM (
        SELECT id, max(score) AS score FROM (
            SELECT id,
                   CASE WHEN search_fold(number) = search_fold(%(text)s) THEN {_EXACT} ELSE 0 END
                   + {_ranked("search_document")}
                   + CASE WHEN %(fragment)s <> '' AND search_fold(number) LIKE %(fragment)s THEN 1 ELSE 0 END
                   AS score
            FROM (
                SELECT id, number, search_document FROM {table}
                WHERE search_document @@ {_TSQUERY}
                   OR search_fold(number) = search_fold(%(text)s)
                   OR (%(fragment)s <> '' AND search_fold(number) LIKE %(fragment)s)
                ORDER BY id + 0 DESC LIMIT %(candidates)s
            ) own
            UNION ALL
            SELECT {parent}, {_ranked("search_document")} FROM (
                SELECT {parent}, search_document FROM {items} WHERE search_document @@ {_TSQUERY}
                ORDER BY {parent} + 0 DESC LIMIT %(candidates)s
            ) through_items
        ) matches GROUP BY id
    ) m JOIN {table} d ON d.id = m.id
    """  # noqa: S608 - constant SQL; the searched text is a parameter


def _candidates(columns: str, table: str, match: str) -> str:
    """The newest `CANDIDATES_PER_KIND` rows of `table` that `match`: only they are scored.
    `id + 0` keeps the planner on the search indexes: ordered by the bare id it walks the
    primary key backwards and tests every row (folding every name) until it has enough."""
    return f"(SELECT {columns} FROM {table} WHERE {match} ORDER BY id + 0 DESC LIMIT %(candidates)s) candidates"  # noqa: S608


_CUSTOMER_MATCH = f"""search_document @@ {_TSQUERY}
    OR search_fold(%(text)s) <%% search_fold(name)
    OR (%(digits)s <> '' AND phone LIKE %(phone_fragment)s)
    OR upper(email) = upper(%(text)s)"""
_CUSTOMER_COLUMNS = "id, name, email, phone, search_document"
_APPOINTMENT_MATCH = f"search_document @@ {_TSQUERY} OR search_fold(%(text)s) <%% search_fold(title)"
_WORDS_MATCH = f"search_document @@ {_TSQUERY}"

# Each kind's scored matches (kind, id, title, score); the searched text is always a parameter.
_SOURCES = {
    # A customer matches on its own fields, or through the address of one of its properties.
    "customer": f"""
    SELECT 'customer' AS kind, c.id, c.name AS title, m.score FROM (
        SELECT id, max(score) AS score FROM (
            SELECT id,
                   CASE WHEN (%(digits)s <> '' AND phone = '+' || %(digits)s) OR upper(email) = upper(%(text)s)
                        THEN {_EXACT} ELSE 0 END
                   + {_ranked("search_document")}
                   + word_similarity(search_fold(%(text)s), search_fold(name))
                   + CASE WHEN %(digits)s <> '' AND phone LIKE %(phone_fragment)s THEN 1 ELSE 0 END AS score
            FROM {_candidates(_CUSTOMER_COLUMNS, "customers_customer", _CUSTOMER_MATCH)}
            UNION ALL
            SELECT customer_id, {_ranked("search_document")}
            FROM {_candidates("customer_id, search_document", "customers_property", _WORDS_MATCH)}
        ) matches GROUP BY id
    ) m JOIN customers_customer c ON c.id = m.id
    """,  # noqa: S608 - constant SQL; the searched text is a parameter
    "appointment": f"""
    SELECT 'appointment' AS kind, id, title,
           {_ranked("search_document")} + word_similarity(search_fold(%(text)s), search_fold(title)) AS score
    FROM {_candidates("id, title, search_document", "appointments_appointment", _APPOINTMENT_MATCH)}
    """,  # noqa: S608 - constant SQL; the searched text is a parameter
    "quote": _documents("quote", "quotes_quote", "quotes_quoteitem", "quote_id"),
    "invoice": _documents("invoice", "invoices_invoice", "invoices_invoiceitem", "invoice_id"),
    "text": f"""
    SELECT 'text' AS kind, id,
           CASE direction WHEN 'inbound' THEN 'Text from ' || from_number ELSE 'Text to ' || to_number END AS title,
           {_ranked("search_document")} AS score
    FROM {_candidates("id, direction, from_number, to_number, search_document", "sms_message", _WORDS_MATCH)}
    """,  # noqa: S608 - constant SQL; the searched text is a parameter
    "call": f"""
    SELECT 'call' AS kind, id, 'Call with ' || coalesce(nullif(customer_number, ''), 'an unknown number') AS title,
           {_ranked("search_document")} AS score
    FROM {_candidates("id, customer_number, search_document", "voice_call", _WORDS_MATCH)}
    """,  # noqa: S608 - constant SQL; the searched text is a parameter
}

# The text each kind's snippet is cut from, in the order its fields are weighted.
_SNIPPET_TEXT = """
CASE page.kind
    WHEN 'customer' THEN concat_ws(' · ', c.name, nullif(c.email, ''), nullif(c.phone, ''), nullif(c.address, ''),
        (SELECT string_agg(concat_ws(' ', lines, city, region, postal_code), ' · ' ORDER BY id)
         FROM customers_property WHERE customer_id = c.id),
        nullif(c.notes, ''))
    WHEN 'appointment' THEN concat_ws(' · ', a.title, nullif(a.notes, ''))
    WHEN 'quote' THEN concat_ws(' · ', q.number,
        (SELECT string_agg(description, ' · ' ORDER BY position) FROM quotes_quoteitem WHERE quote_id = q.id),
        nullif(q.notes, ''))
    WHEN 'invoice' THEN concat_ws(' · ', i.number,
        (SELECT string_agg(description, ' · ' ORDER BY position) FROM invoices_invoiceitem WHERE invoice_id = i.id),
        nullif(i.notes, ''))
    WHEN 'text' THEN m.body
    WHEN 'call' THEN concat_ws(' · ', nullif(v.summary, ''), nullif(v.transcript, ''))
END
"""

_PAGE_SQL = """
WITH page AS (
    SELECT kind, id, title, round(score::numeric, 6) AS score FROM ({sources}) hits
    {after}
    ORDER BY 4 DESC, kind DESC, id DESC
    LIMIT %(limit)s
)
SELECT page.kind, page.id, page.title, page.score,
       ts_headline('search_text', translate(left({snippet}, {headline_text}), %(marks)s, ''), {tsquery}, %(options)s)
FROM page
LEFT JOIN customers_customer c ON page.kind = 'customer' AND c.id = page.id
LEFT JOIN appointments_appointment a ON page.kind = 'appointment' AND a.id = page.id
LEFT JOIN quotes_quote q ON page.kind = 'quote' AND q.id = page.id
LEFT JOIN invoices_invoice i ON page.kind = 'invoice' AND i.id = page.id
LEFT JOIN sms_message m ON page.kind = 'text' AND m.id = page.id
LEFT JOIN voice_call v ON page.kind = 'call' AND v.id = page.id
ORDER BY page.score DESC, page.kind DESC, page.id DESC
"""


@dataclass(frozen=True)
class SearchHit:
    kind: str
    id: int
    title: str
    # HTML-escaped text with the matched words in <mark>…</mark>.
    snippet: str
    score: Decimal


@dataclass(frozen=True)
class SearchPage:
    items: list[SearchHit]
    next_cursor: str | None


@dataclass(frozen=True)
class _Position:
    score: Decimal
    kind: str
    id: int


def _like_fragment(value: str) -> str:
    """`%value%` for LIKE, with LIKE's own wildcards in `value` taken literally."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _phone_digits(text: str) -> str:
    """The digits of a search that is mostly a phone number ("(555) 010-4477"), at least three;
    else "" (a name with one digit in it is not a phone search)."""
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 3 and len(digits) * 2 >= len(re.sub(r"\s", "", text)):
        return digits
    return ""


def _fingerprint(*, text: str, kinds: tuple[str, ...]) -> str:
    return hashlib.sha256("\x00".join([text, *kinds]).encode()).hexdigest()[:32]


def _encode_cursor(*, fingerprint: str, position: _Position) -> str:
    """Signed "after `position`" for this business (its schema) and this query: a cursor of
    another search, or of another business, is refused."""
    schema_name = connection.schema_name  # type: ignore[attr-defined]  # django-tenants' database backend
    payload = [schema_name, fingerprint, str(position.score), position.kind, position.id]
    return signing.dumps(payload, salt=_CURSOR_SALT, compress=True)


def _decode_cursor(*, fingerprint: str, cursor: str) -> _Position:
    try:
        schema_name, owner, score, kind, hit_id = signing.loads(cursor, salt=_CURSOR_SALT)
        position = _Position(score=Decimal(score), kind=str(kind), id=int(hit_id))
    except (signing.BadSignature, ValueError, TypeError, InvalidOperation) as error:
        raise ValidationFailed(
            "Invalid search cursor.", details=[{"field": "cursor", "message": "Not a cursor from this search."}]
        ) from error
    if (schema_name, owner) != (connection.schema_name, fingerprint):  # type: ignore[attr-defined]  # django-tenants
        raise ValidationFailed(
            "Invalid search cursor.", details=[{"field": "cursor", "message": "Cursor of another search."}]
        )
    return position


def _snippet(headline: str | None) -> str:
    text = html.escape(headline or "", quote=False)
    return text.replace(_START, "<mark>").replace(_STOP, "</mark>")


def search(*, text: str, kinds: tuple[str, ...], limit: int, cursor: str | None = None) -> SearchPage:
    """The best matches of `text` among `kinds` (the caller decides which kinds the member may
    read), highest score first, `limit` at a time; `cursor` is the `next_cursor` of the page
    before. Text with nothing searchable in it (only punctuation) finds nothing."""
    text = " ".join(text.split())
    kinds = tuple(kind for kind in KINDS if kind in kinds)
    fingerprint = _fingerprint(text=text, kinds=kinds)
    after = _decode_cursor(fingerprint=fingerprint, cursor=cursor) if cursor else None
    if not text or not kinds:
        return SearchPage(items=[], next_cursor=None)
    folded_fragment = re.sub(r"\s+", "", text).lower()
    digits = _phone_digits(text)
    params: dict[str, str | int | Decimal] = {
        "text": text,
        "fragment": _like_fragment(folded_fragment) if len(folded_fragment) >= 3 else "",
        "digits": digits,
        "phone_fragment": _like_fragment(digits),
        "limit": limit + 1,
        "candidates": CANDIDATES_PER_KIND,
        "marks": _START + _STOP,
        "options": _HEADLINE_OPTIONS,
    }
    keyset = ""
    if after is not None:
        keyset = "WHERE (round(score::numeric, 6), kind, id) < (%(after_score)s, %(after_kind)s, %(after_id)s)"
        params.update(after_score=after.score, after_kind=after.kind, after_id=after.id)
    sql = _PAGE_SQL.format(
        sources=" UNION ALL ".join(_SOURCES[kind] for kind in kinds),
        after=keyset,
        snippet=_SNIPPET_TEXT,
        headline_text=_HEADLINE_TEXT,
        tsquery=_TSQUERY,
    )
    with connection.cursor() as db:
        db.execute(sql, params)
        rows = db.fetchall()
    hits = [
        SearchHit(kind=kind, id=hit_id, title=title, score=score, snippet=_snippet(headline))
        for kind, hit_id, title, score, headline in rows
    ]
    more = len(hits) > limit
    hits = hits[:limit]
    last = _Position(score=hits[-1].score, kind=hits[-1].kind, id=hits[-1].id) if hits else None
    next_cursor = _encode_cursor(fingerprint=fingerprint, position=last) if more and last else None
    return SearchPage(items=hits, next_cursor=next_cursor)
