"""Render time of quote/invoice PDFs: the largest document the API accepts beside a typical
one, and a PDF request the first time (rendered) and again (served from storage).

- render: `render_document_pdf` alone, ROUNDS times per document, p50 / p99 / max.
  "Largest accepted" is MAX_ITEMS lines whose descriptions reach MAX_DESCRIPTION_CHARS in
  several shapes (one unbreakable word, MAX_DESCRIPTION_LINES full lines, words, text
  outside the core fonts, so printed with the Unicode fonts), with the longest notes and
  customer fields the API takes. Typical documents also with a Greek, Arabic and Chinese
  customer name (Unicode fonts: loading them is most of the cost).
- request: `GET /invoices/{id}/pdf` through Django's whole stack in-process (middleware,
  token, router, service; no socket), right after a PATCH (a new version: rendered) and
  once more (stored).

Run through `make bench`; prints a table and writes bench/results/pdf.json.
"""

import os
import statistics
import time
from datetime import date
from decimal import Decimal

import django

from bench.provision import percentile

ROUNDS = 20
HTTP_ROUNDS = 10
TYPICAL_ITEMS = (
    ("Boiler service, annual", "1", 9500, "8.25"),
    ("Relief valve, 22 mm", "1", 4299, "8.25"),
    ("Copper pipe, per metre", "3.5", 1250, "8.25"),
    ("Call-out fee", "1", 7500, "0"),
    ("Labour, per hour", "2.5", 6000, "8.25"),
)


def largest_descriptions() -> dict[str, str]:
    from tenant_apps.billing.items import MAX_DESCRIPTION_CHARS, MAX_DESCRIPTION_LINES

    line = "W" * (MAX_DESCRIPTION_CHARS // MAX_DESCRIPTION_LINES - 1)
    return {
        "one unbreakable word": "W" * MAX_DESCRIPTION_CHARS,
        f"{MAX_DESCRIPTION_LINES} full lines": "\n".join([line] * MAX_DESCRIPTION_LINES),
        "words": ("Replace the corroded section of pipe " * 100)[:MAX_DESCRIPTION_CHARS],
        "non-Latin text": "\u6c34\u7ba1\u7ef4\u4fee" * (MAX_DESCRIPTION_CHARS // 4),
    }


def longest_fields() -> dict[str, str]:
    """The longest notes and customer fields the API accepts, as many lines as possible."""
    from api.customers import CustomerIn
    from api.documents import DocumentIn

    def max_length(schema, field: str) -> int:
        return next(rule.max_length for rule in schema.model_fields[field].metadata if hasattr(rule, "max_length"))

    return {
        "customer_name": "N" * max_length(CustomerIn, "name"),
        "customer_address": "x\n" * (max_length(CustomerIn, "address") // 2),
        "notes": "x\n" * (max_length(DocumentIn, "notes") // 2),
    }


def pdf_document(items: list[tuple[str, str, int, str]], *, fields: dict[str, str]):
    from tenant_apps.billing.items import ItemInput, build_item_rows, check_item_limits, price_items
    from tenant_apps.billing.pdf import PdfDocument
    from tenant_apps.billing.pdfs import pdf_lines
    from tenant_apps.invoices.models import Invoice

    entered = [
        ItemInput(description=text, quantity=Decimal(quantity), unit_price=price, tax_rate=Decimal(rate), discount=1)
        for text, quantity, price, rate in items
    ]
    check_item_limits(entered)  # the document must be one the API accepts
    totals = price_items(items=entered, currency="usd", document_discount=0)
    lines = pdf_lines(build_item_rows(document=Invoice(), items=entered, totals=totals))
    return PdfDocument(
        kind="Invoice",
        number="INV-2026-0001",
        business_name="Bench Plumbing",
        customer_name=fields.get("customer_name", "Ada Lovelace"),
        customer_address=fields.get("customer_address", "77 Elm Street\nSpringfield, IL 62704"),
        issue_date=date(2026, 3, 14),
        due_date=date(2026, 4, 13),
        currency="usd",
        lines=lines,
        subtotal=totals.subtotal,
        discount_total=totals.discount_total,
        tax_total=totals.tax_total,
        total=totals.total,
        amount_paid=0,
        amount_due=totals.total,
        notes=fields.get("notes", "Thank you for your business."),
    )


def measure(operation) -> tuple[tuple[float, float], object]:
    """(wall ms, CPU ms of this process) and the result. The machine is shared: CPU time
    shows the cost when other work inflates the wall clock."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = operation()
    return ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000), result


def summary(samples: list[tuple[float, float]]) -> dict[str, float]:
    wall = [sample[0] for sample in samples]
    return {
        "p50_ms": round(statistics.median(wall), 1),
        "p99_ms": round(percentile(wall, 0.99), 1),
        "max_ms": round(max(wall), 1),
        "cpu_p50_ms": round(statistics.median(sample[1] for sample in samples), 1),
    }


def bench_rendering() -> dict[str, dict]:
    from tenant_apps.billing.items import MAX_ITEMS
    from tenant_apps.billing.pdf import render_document_pdf

    documents = {
        "typical (5 lines)": pdf_document(list(TYPICAL_ITEMS), fields={}),
        # Names outside Windows-1252 switch the document to the Unicode fonts.
        "typical, Greek customer": pdf_document(list(TYPICAL_ITEMS), fields={"customer_name": "Ελένη Παπαδοπούλου"}),
        "typical, Arabic customer": pdf_document(list(TYPICAL_ITEMS), fields={"customer_name": "محمد الأحمد"}),
        "typical, Chinese customer": pdf_document(list(TYPICAL_ITEMS), fields={"customer_name": "王小明"}),
    }
    for shape, text in largest_descriptions().items():
        items = [(text, "1", 100, "8.25")] * MAX_ITEMS
        documents[f"largest accepted: {shape}"] = pdf_document(items, fields=longest_fields())
    results = {}
    for name, document in documents.items():
        render_document_pdf(document=document)  # warm-up
        samples, sizes = [], set()
        for _ in range(ROUNDS):
            elapsed, content = measure(lambda document=document: render_document_pdf(document=document))
            samples.append(elapsed)
            sizes.add(len(content))
        results[name] = {**summary(samples), "bytes": max(sizes)}
        print_row(name, results[name])
    return results


def bench_requests() -> dict[str, dict]:
    """First and repeated GET of the largest accepted invoice's PDF, in-process."""
    from bench.setup import business_api
    from tenant_apps.billing.items import MAX_ITEMS

    call = business_api(business_name="Bench Plumbing", email="pdf@bench.test")

    fields = longest_fields()
    typical_customer = call("post", "/customers", {"name": "Ada Lovelace", "address": "77 Elm Street"}).json()
    largest_customer = call(
        "post", "/customers", {"name": fields["customer_name"], "address": fields["customer_address"]}
    ).json()
    largest_items = [(largest_descriptions()["one unbreakable word"], "1", 100, "8.25")] * MAX_ITEMS
    documents = {
        "typical (5 lines)": (typical_customer, list(TYPICAL_ITEMS), "Thank you for your business."),
        "largest accepted": (largest_customer, largest_items, fields["notes"]),
    }
    results = {}
    for name, (customer, rows, notes) in documents.items():
        items = [{"description": t, "quantity": q, "unit_price": p, "tax_rate": r} for t, q, p, r in rows]
        invoice = call("post", "/invoices", {"customer_id": customer["id"], "items": items, "notes": notes}).json()
        path = f"/invoices/{invoice['id']}"
        samples: dict[str, list[tuple[float, float]]] = {
            "first GET .../pdf": [],
            "repeated GET .../pdf": [],
            "GET (JSON)": [],
        }
        for _ in range(HTTP_ROUNDS):
            invoice = call("patch", path, {"version": invoice["version"], "notes": notes}).json()  # a new version
            samples["first GET .../pdf"].append(measure(lambda path=path: call("get", f"{path}/pdf"))[0])
            samples["repeated GET .../pdf"].append(measure(lambda path=path: call("get", f"{path}/pdf"))[0])
            samples["GET (JSON)"].append(measure(lambda path=path: call("get", path))[0])
        for request, values in samples.items():
            results[f"{name}: {request}"] = summary(values)
            print_row(f"{name}: {request}", results[f"{name}: {request}"])
    return results


def print_row(name: str, row: dict) -> None:
    figures = f"{row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['max_ms']:>8.1f} {row['cpu_p50_ms']:>8.1f}"
    print(f"{name:<48} {figures}", flush=True)


if __name__ == "__main__":
    from bench.setup import recreate_bench_database, write_results

    os.environ["DATABASE_URL"] = recreate_bench_database()
    os.environ["TENANT_POOL_SIZE"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    from tenant_apps.billing.items import MAX_DESCRIPTION_CHARS, MAX_DESCRIPTION_LINES, MAX_ITEMS

    print(f"{'document':<48} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'CPU p50':>8}")
    figures = {
        "limits": {
            "items": MAX_ITEMS,
            "description_chars": MAX_DESCRIPTION_CHARS,
            "description_lines": MAX_DESCRIPTION_LINES,
        },
        "render_rounds": ROUNDS,
        "render": bench_rendering(),
        "request_rounds": HTTP_ROUNDS,
        "request": bench_requests(),
    }
    print(f"written to {write_results('pdf', figures)}")
