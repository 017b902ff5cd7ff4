"""The business's search language: which stemmer its `search_text` configuration uses.

`simple` (the default, and the fallback) matches words as written, accents folded; a
language adds PostgreSQL's Snowball stemmer and stop words for it, so "heaters" finds
"heater". The configuration lives in the tenant's schema, so the setting is the
configuration itself: nothing else stores it."""

from django.db import connection, transaction

from shared_apps.errors import ValidationFailed

# PostgreSQL's built-in Snowball stemmers (`<language>_stem`) present in every supported
# version; `simple` has none.
LANGUAGES = (
    "simple", "danish", "dutch", "english", "finnish", "french", "german", "hungarian", "italian", "norwegian",
    "portuguese", "romanian", "russian", "spanish", "swedish", "turkish",
)  # fmt: skip

# The tables whose stored `search_document` follows the configuration, each with a column it
# is computed from: PostgreSQL recomputes a stored generated column only when an UPDATE sets
# one of its inputs (setting the column itself to DEFAULT does not).
SEARCHED_TABLES = {
    "customers_customer": "name", "appointments_appointment": "title", "quotes_quote": "notes",
    "quotes_quoteitem": "description", "invoices_invoice": "notes", "invoices_invoiceitem": "description",
    "sms_message": "body", "voice_call": "summary", "customers_property": "lines",
}  # fmt: skip

# The default parser's word token types, the ones the search migration maps through unaccent.
_WORD_TOKENS = "asciihword, asciiword, hword, hword_asciipart, hword_part, word"
_ASCIIWORD = 1


def get_search_language() -> str:
    """The language of this business's search configuration ("simple" when none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.dictname FROM pg_ts_config_map m JOIN pg_ts_dict d ON d.oid = m.mapdict "
            "WHERE m.mapcfg = 'search_text'::regconfig AND m.maptokentype = %s ORDER BY m.mapseqno DESC LIMIT 1",
            [_ASCIIWORD],
        )
        (dictionary,) = cursor.fetchone()
    return str(dictionary).removesuffix("_stem")


def set_search_language(*, language: str) -> str:
    """Search this business's rows in `language` from now on, and return it. The stored
    documents are recomputed table by table, each in its own short transaction (no long lock
    across tables); until a table is done, a word whose stem differs may be missed there."""
    if language not in LANGUAGES:
        raise ValidationFailed(
            "Unknown search language.",
            details=[{"field": "language", "message": f"One of: {', '.join(LANGUAGES)}."}],
        )
    if language == get_search_language():
        return language
    dictionary = "simple" if language == "simple" else f"{language}_stem"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TEXT SEARCH CONFIGURATION search_text ALTER MAPPING FOR {_WORD_TOKENS} "
            f"WITH public.unaccent, pg_catalog.{dictionary}"
        )
    for table, source in SEARCHED_TABLES.items():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {source} = {source}")  # noqa: S608 - constant names
    return language
