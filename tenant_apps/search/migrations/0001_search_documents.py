"""Full-text search columns and indexes on the tables search reads, in each tenant's schema.

Per schema: `search_text`, a text search configuration (the `simple` dictionary behind
`unaccent`: no stemming, accents folded), and `search_fold(text)`, lower-cased and unaccented,
declared IMMUTABLE so trigram indexes may use it (`unaccent()` itself is only STABLE, since its
dictionary could change; ours is fixed). Each searched table gets a stored generated
`search_document` tsvector (weights: A name/number/title, B contact details and items, C notes,
texts and call summaries, D transcripts) with a GIN index; trigram GIN indexes serve typos in
names and titles and fragments of document numbers. Long free text is cut at 100,000
characters so a huge transcript cannot exceed a tsvector's 1 MB.

The columns live in other apps' tables but are this app's: those apps' models do not declare
them, and nothing but search reads them."""

from django.db import migrations

LONG_TEXT = 100000


def document(*parts: tuple[str, str]) -> str:
    """The tsvector expression of (weight, text expression) parts."""
    return " || ".join(
        f"setweight(to_tsvector('search_text'::regconfig, left(coalesce({text}, ''), {LONG_TEXT})), '{weight}')"
        for weight, text in parts
    )


SEARCHED = {
    "customers_customer": document(("A", "name"), ("B", "email || ' ' || phone"), ("C", "address || ' ' || notes")),
    "appointments_appointment": document(("A", "title"), ("C", "notes")),
    "quotes_quote": document(("A", "number"), ("C", "notes")),
    "quotes_quoteitem": document(("B", "description")),
    "invoices_invoice": document(("A", "number"), ("C", "notes")),
    "invoices_invoiceitem": document(("B", "description")),
    "sms_message": document(("C", "body")),
    "voice_call": document(("C", "summary"), ("D", "transcript")),
}

TRIGRAMS = {
    "customers_customer": "name",
    "appointments_appointment": "title",
    "quotes_quote": "number",
    "invoices_invoice": "number",
}

FUNCTIONS = """
CREATE TEXT SEARCH CONFIGURATION search_text (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION search_text
    ALTER MAPPING FOR asciihword, asciiword, hword, hword_asciipart, hword_part, word
    WITH public.unaccent, pg_catalog.simple;
CREATE FUNCTION search_fold(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, value));
"""

DROP_FUNCTIONS = "DROP FUNCTION search_fold(text); DROP TEXT SEARCH CONFIGURATION search_text;"


def columns_sql() -> str:
    statements = []
    for table, expression in SEARCHED.items():
        statements.append(
            f"ALTER TABLE {table} ADD COLUMN search_document tsvector GENERATED ALWAYS AS ({expression}) STORED;"
            f"CREATE INDEX {table}_search ON {table} USING gin (search_document);"
        )
    for table, column in TRIGRAMS.items():
        statements.append(
            f"CREATE INDEX {table}_search_trgm ON {table} USING gin (search_fold({column}) public.gin_trgm_ops);"
        )
    return "\n".join(statements)


def drop_columns_sql() -> str:
    statements = [f"DROP INDEX {table}_search_trgm;" for table in TRIGRAMS]
    statements += [f"ALTER TABLE {table} DROP COLUMN search_document;" for table in SEARCHED]
    return "\n".join(statements)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0010_unaccent_extension"),
        ("customers", "0002_search_indexes"),
        ("appointments", "0001_appointments_initial"),
        ("quotes", "0001_quotes_initial"),
        ("invoices", "0004_invoice_credit_and_dispute"),
        ("sms", "0007_message_delivery_checked"),
        ("voice", "0002_call_unknown_dial_outcome"),
    ]

    operations = [
        migrations.RunSQL(FUNCTIONS, reverse_sql=DROP_FUNCTIONS),
        migrations.RunSQL(columns_sql(), reverse_sql=drop_columns_sql()),
    ]
