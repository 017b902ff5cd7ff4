"""Search over one busy business: 100,000 rows across the kinds, typical queries and the cost
of keeping the search columns on writes.

One tenant gets 20,000 customers, 15,000 appointments, 10,000 quotes and 15,000 invoices (one
item each), 20,000 texts and 20,000 calls with a summary and a ~80-word transcript, from a
seeded random generator (the same rows every run). Then:

- queries: each typical search (a surname, a typo, an exact invoice number, a phone fragment,
  a common phrase, a rare word, a deep page of a common word) run ROUNDS times, interleaved,
  through `tenant_apps.search.queries.search` (the SQL and the Python around it) and through
  `GET /api/v1/search` on the tenant's host (every middleware, Django's test client in
  process); p50 / p99 in ms, and the number of hits on the first page.
- writes: single-row INSERTs of customers and of calls (with a transcript) through the ORM,
  with the search columns and indexes and without them (dropped inside a transaction that is
  rolled back, so the next round finds them again), interleaved; ms per row.
- sizes: the GIN and trigram indexes and the tsvector columns;
- migration: how long the search migration takes on this tenant's full tables, and how long
  switching the search language (re-reading every stored document) takes.

Run: `DATABASE_URL=... python -m bench.search` (about two minutes on two cores); writes
bench/results/search.json. Not part of `make test`.
"""

import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

SEED = 20261207
ROUNDS = 40
WRITE_ROUNDS = 5
WRITES_PER_ROUND = 200
COUNTS = {"customer": 20000, "appointment": 15000, "quote": 10000, "invoice": 15000, "text": 20000, "call": 20000}

FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
         "William", "Barbara", "Zoë", "José", "Renée", "Chloé", "André", "Noël", "Ana", "Luis", "Wei", "Priya",
         "Olga", "Sven", "Fatima", "Kenji", "Amara", "Mateo", "Ingrid", "Tomás"]  # fmt: skip
LAST = [f"{stem}{suffix}" for stem in ("Hender", "Whit", "Ok", "Brad", "Carl", "Fitz", "Mont", "Lind", "Ash", "Gar",
                                       "Hol", "Ken", "Mar", "Pem", "Ros", "Stan", "Thorn", "Wood", "Yar", "Zell")
        for suffix in ("son", "field", "afor", "ley", "ton", "gerald", "gomery", "berg", "worth", "cía")]  # fmt: skip
STREETS = ["Main St", "Elm Ave", "Oak Rd", "Maple Dr", "Cedar Ln", "Rue de la Paix", "Calle Mayor", "Pine Ct"]
SERVICES = [
    "Water heater flush", "Water heater replacement", "Furnace inspection", "Drain cleaning", "Boiler service",
    "Leak repair under sink", "Garbage disposal install", "Sump pump check", "Thermostat wiring",
    "Gutter cleaning", "Chimney sweep", "Dryer vent cleaning", "AC tune-up", "Faucet replacement",
    "Toilet repair", "Pipe insulation", "Backflow test", "Water softener install",
]  # fmt: skip
SPEECH = """the a and to of is it that in you for on with this we be at have can will just about there so
leak pipe water heater kitchen bathroom basement noise pressure tank valve filter warranty invoice quote
tomorrow morning afternoon price estimate gate code dog key neighbor garage upstairs cold hot drip smell
gas electric breaker outlet wiring furnace boiler vent duct thermostat schedule"""
WORDS = SPEECH.split()
# Transcripts and texts draw words Zipf-like (the n-th most common has weight 1/n) from the
# domain words above followed by 3,000 made-up ones, as real speech does: a few words are
# everywhere, most are rare.
VOCABULARY = WORDS + [f"w{n:x}" for n in range(3000)]
ZIPF = [1 / (rank + 1) for rank in range(len(VOCABULARY))]
RARE = "sassafras"  # in one transcript of 2,000

QUERIES = {
    "surname": "Hendergomery",
    "name_typo": "Hendrgomery",
    "full_name_accents": "zoe whitberg",
    "exact_invoice_number": "INV-2026-04217",
    "phone_fragment": "555-0143",
    "common_phrase": "water heater",
    "rare_word_in_transcripts": RARE,
    "word_with_operators": '"gate code" -dog',
}
DEEP_PAGE_QUERY = "furnace"
DEEP_PAGE_NUMBER = 5


def seed(rng: random.Random) -> None:
    from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

    from tenant_apps.appointments.models import Appointment
    from tenant_apps.customers.models import Customer
    from tenant_apps.invoices.models import Invoice, InvoiceItem
    from tenant_apps.quotes.models import Quote, QuoteItem
    from tenant_apps.sms.models import Message
    from tenant_apps.voice.models import Call

    def sentence(words: int) -> str:
        return " ".join(rng.choices(VOCABULARY, weights=ZIPF, k=words)).capitalize() + "."

    customers = [
        Customer(
            name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            email=f"client{n}@example.test",
            phone=f"+1{rng.randrange(201, 990)}555{n % 10000:04d}",
            address=f"{rng.randrange(1, 9999)} {rng.choice(STREETS)}",
            notes=sentence(rng.randrange(0, 15)),
        )
        for n in range(COUNTS["customer"])
    ]
    Customer.objects.bulk_create(customers, batch_size=2000)
    ids = [customer.pk for customer in customers]
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    appointments = []
    for n in range(COUNTS["appointment"]):
        starts = start + timedelta(hours=2 * n)
        appointments.append(
            Appointment(
                customer_id=rng.choice(ids), title=rng.choice(SERVICES), starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                blocked_during=DateTimeTZRange(starts, starts + timedelta(hours=1)),
                notes=sentence(rng.randrange(0, 12)),
            )
        )  # fmt: skip
    Appointment.objects.bulk_create(appointments, batch_size=2000)
    item = {"quantity": Decimal(1), "unit_price": 10000, "tax_rate": Decimal(0), "subtotal": 10000, "tax": 0,
            "total": 10000}  # fmt: skip
    for model, item_model, parent, prefix, kind, dated in (
        (Quote, QuoteItem, "quote", "Q", "quote", {"valid_until": date(2026, 12, 31)}),
        (Invoice, InvoiceItem, "invoice", "INV", "invoice", {"due_date": date(2026, 12, 31)}),
    ):
        documents = [
            model(number=f"{prefix}-2026-{n + 1:05d}", status="SENT", customer_id=rng.choice(ids), currency="usd",
                  notes=sentence(rng.randrange(0, 10)), subtotal=10000, total=10000, **dated)
            for n in range(COUNTS[kind])
        ]  # fmt: skip
        model.objects.bulk_create(documents, batch_size=2000)
        items = [
            item_model(**{parent: document}, position=1, description=rng.choice(SERVICES), **item)
            for document in documents
        ]
        item_model.objects.bulk_create(items, batch_size=2000)
    texts = [
        Message(direction="inbound", from_number=f"+1202555{n % 10000:04d}", to_number="+12025550100",
                body=sentence(rng.randrange(4, 30)), status="received", customer_id=rng.choice(ids))
        for n in range(COUNTS["text"])
    ]  # fmt: skip
    Message.objects.bulk_create(texts, batch_size=2000)
    calls = []
    for n in range(COUNTS["call"]):
        transcript = sentence(80)
        if n % 2000 == 7:
            transcript += f" Also the {RARE} tree by the fence."
        calls.append(
            Call(direction="inbound", status="ended", customer_number=f"+1202555{n % 10000:04d}",
                 summary=f"Caller asked about {rng.choice(SERVICES).lower()}.", transcript=transcript,
                 customer_id=rng.choice(ids))
        )  # fmt: skip
    Call.objects.bulk_create(calls, batch_size=2000)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))], 2),
        "max_ms": round(ordered[-1], 2),
    }


def measure_queries(*, host: str, token: str, rounds: int) -> dict:
    from django.test import Client

    from tenant_apps.search.queries import KINDS, search

    client = Client()
    cursor = None
    for _ in range(DEEP_PAGE_NUMBER - 1):
        cursor = search(text=DEEP_PAGE_QUERY, kinds=KINDS, limit=20, cursor=cursor).next_cursor
    cases = {**{name: (q, None) for name, q in QUERIES.items()}, "deep_page": (DEEP_PAGE_QUERY, cursor)}
    service: dict[str, list[float]] = {name: [] for name in cases}
    request: dict[str, list[float]] = {name: [] for name in cases}
    hits = {}
    for name, (q, after) in cases.items():  # warm caches, count hits
        hits[name] = len(search(text=q, kinds=KINDS, limit=20, cursor=after).items)
    for _ in range(rounds):
        for name, (q, after) in cases.items():
            started = time.perf_counter()
            search(text=q, kinds=KINDS, limit=20, cursor=after)
            service[name].append((time.perf_counter() - started) * 1000)
            query = {"q": q, "limit": 20, **({"cursor": after} if after else {})}
            started = time.perf_counter()
            response = client.get("/api/v1/search", query, HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}")
            request[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.content
    return {
        name: {"query": cases[name][0], "first_page_hits": hits[name], "service": percentiles(service[name]),
               "request": percentiles(request[name])}
        for name in cases
    }  # fmt: skip


def measure_writes(rng: random.Random) -> dict:
    from django.db import connection, transaction

    from tenant_apps.customers.models import Customer
    from tenant_apps.voice.models import Call

    def customers() -> None:
        for n in range(WRITES_PER_ROUND):
            Customer.objects.create(
                name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", email=f"w{n}@example.test", phone="+12025550000",
                notes=" ".join(rng.choice(WORDS) for _ in range(12)),
            )  # fmt: skip

    def calls() -> None:
        for _ in range(WRITES_PER_ROUND):
            Call.objects.create(
                direction="inbound", status="ended", summary="Caller asked about a leak.",
                transcript=" ".join(rng.choice(WORDS) for _ in range(200)),
            )  # fmt: skip

    def timed(write, *, without_search: bool) -> float:
        with transaction.atomic():
            if without_search:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "ALTER TABLE customers_customer DROP COLUMN search_document;"
                        "DROP INDEX customers_customer_search_trgm;"
                        "ALTER TABLE voice_call DROP COLUMN search_document;"
                    )
            started = time.perf_counter()
            write()
            elapsed = (time.perf_counter() - started) * 1000 / WRITES_PER_ROUND
            transaction.set_rollback(True)
        return elapsed

    samples: dict[str, list[float]] = {"customer_with": [], "customer_without": [], "call_with": [], "call_without": []}
    for _ in range(WRITE_ROUNDS):
        samples["customer_with"].append(timed(customers, without_search=False))
        samples["customer_without"].append(timed(customers, without_search=True))
        samples["call_with"].append(timed(calls, without_search=False))
        samples["call_without"].append(timed(calls, without_search=True))
    median = {name: round(statistics.median(values), 3) for name, values in samples.items()}
    return {
        "rows_per_round": WRITES_PER_ROUND,
        "rounds": WRITE_ROUNDS,
        "median_ms_per_insert": median,
        "search_cost_ms_per_insert": {
            "customer": round(median["customer_with"] - median["customer_without"], 3),
            "call_with_200_word_transcript": round(median["call_with"] - median["call_without"], 3),
        },
    }


def measure_migration() -> dict:
    """Seconds to add the search columns and indexes to this tenant's full tables (the search
    migration's forward SQL after its reverse SQL), in a transaction rolled back afterwards."""
    import importlib

    from django.db import connection, transaction

    migration = importlib.import_module("tenant_apps.search.migrations.0001_search_documents")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(migration.drop_columns_sql())
            started = time.perf_counter()
            cursor.execute(migration.columns_sql())
            elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    from tenant_apps.search.services import set_search_language

    with transaction.atomic():
        started = time.perf_counter()
        set_search_language(language="english")
        switched = time.perf_counter() - started
        transaction.set_rollback(True)
    return {"add_columns_and_indexes_seconds": round(elapsed, 2), "switch_to_english_seconds": round(switched, 2)}


def measure_sizes() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'i' "
            "AND c.relname LIKE '%%_search%%' "
            "ORDER BY 1"
        )
        indexes = {name: round(size / 1024 / 1024, 1) for name, size in cursor.fetchall()}
        cursor.execute(
            "SELECT 'customers_customer', sum(pg_column_size(search_document)) FROM customers_customer UNION ALL "
            "SELECT 'voice_call', sum(pg_column_size(search_document)) FROM voice_call UNION ALL "
            "SELECT 'sms_message', sum(pg_column_size(search_document)) FROM sms_message"
        )
        columns = {name: round(size / 1024 / 1024, 1) for name, size in cursor.fetchall()}
    return {"index_mib": indexes, "tsvector_column_mib": columns}


def main() -> dict:
    from django.db import connection
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.services import register_business
    from tenant_apps.search.services import SEARCHED_TABLES

    rng = random.Random(SEED)
    tokens = register_business(business_name="Bench Search", email="search@bench.test", password="bench-password-1")
    host = f"{tokens.tenant.slug}.localhost"
    with tenant_context(tokens.tenant):
        started = time.perf_counter()
        seed(rng)
        seeded_s = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        after_bulk_load = measure_queries(host=host, token=tokens.access_token, rounds=5)
        # What autovacuum does soon after: merge the GIN indexes' pending lists (fastupdate),
        # which every search otherwise scans in full.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE " + ", ".join(SEARCHED_TABLES))
        figures = {
            "rows": COUNTS,
            "seed_seconds": round(seeded_s, 1),
            "rounds": ROUNDS,
            "queries": measure_queries(host=host, token=tokens.access_token, rounds=ROUNDS),
            "queries_right_after_bulk_load": after_bulk_load,
            "writes": measure_writes(rng),
            "migration": measure_migration(),
            "sizes": measure_sizes(),
        }
    return figures


def print_figures(figures: dict) -> None:
    print(f"seeded {sum(figures['rows'].values()):,} rows in {figures['seed_seconds']} s")
    print(f"{'query':<26} | hits | service p50 / p99 ms | request p50 / p99 ms")
    for name, row in figures["queries"].items():
        service, request = row["service"], row["request"]
        print(
            f"{name:<26} | {row['first_page_hits']:>4} | {service['p50_ms']:>8.2f} / {service['p99_ms']:>7.2f} "
            f"| {request['p50_ms']:>8.2f} / {request['p99_ms']:>7.2f}"
        )
    print(
        "right after the bulk load (GIN pending lists unmerged), service p50 ms:",
        {name: row["service"]["p50_ms"] for name, row in figures["queries_right_after_bulk_load"].items()},
    )
    print("writes, ms per insert (median of rounds):", figures["writes"]["median_ms_per_insert"])
    print("sizes:", figures["sizes"])
    print("migration on these tables:", figures["migration"])


if __name__ == "__main__":
    from bench.setup import run_in_process

    run_in_process("search", main, print_figures)
