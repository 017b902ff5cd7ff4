"""PDF rendering smoke tests: valid PDF, the right figures in it, no crash on any text."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from pypdf import PdfReader

from tenant_apps.billing.pdf import PdfDocument, PdfLine, render_document_pdf
from tenant_apps.billing.totals import LineInput, compute_totals, format_money


def make_document(
    *,
    kind: str = "Invoice",
    number: str | None = "INV-2026-0042",
    currency: str = "USD",
    items: list[tuple[str, str, int, str, int]] | None = None,
    document_discount: int = 0,
    amount_paid: int = 0,
    customer_name: str = "Ada Lovelace",
    notes: str | None = "Thank you for your business.",
) -> PdfDocument:
    if items is None:
        items = [
            ("Boiler service", "2", 9500, "8.25", 0),
            ("Relief valve", "1", 4299, "8.25", 500),
            ("Copper pipe, per metre", "3.5", 1250, "8.25", 0),
            ("Call-out fee", "1", 7500, "0", 0),
            ("Sealant and fittings", "1", 1899, "14.975", 0),
        ]
    totals = compute_totals(
        lines=[
            LineInput(quantity=Decimal(q), unit_price=price, tax_rate=Decimal(rate), discount=discount)
            for _, q, price, rate, discount in items
        ],
        currency=currency,
        document_discount=document_discount,
    )
    lines = [
        PdfLine(
            description=description,
            quantity=Decimal(q),
            unit_price=price,
            tax_rate=Decimal(rate),
            discount=discount,
            amount=lt.subtotal,
        )
        for (description, q, price, rate, discount), lt in zip(items, totals.lines, strict=True)
    ]
    dates: dict[str, object] = (
        {
            "due_date": date(2026, 4, 13),
            "amount_paid": amount_paid,
            "amount_due": totals.total - amount_paid,
        }
        if kind == "Invoice"
        else {"valid_until": date(2026, 4, 13)}
    )
    return PdfDocument(
        kind=kind,  # type: ignore[arg-type]
        number=number,
        business_name="Harbour Plumbing Ltd.",
        business_address="12 Harbour Road\nPortland, OR 97201",
        business_email="billing@harbour.example",
        customer_name=customer_name,
        customer_email="ada@example.com",
        customer_address="77 Elm Street\nSpringfield, IL 62704",
        issue_date=date(2026, 3, 14),
        currency=currency,
        lines=lines,
        subtotal=totals.subtotal,
        discount_total=totals.discount_total,
        tax_total=totals.tax_total,
        total=totals.total,
        notes=notes,
        **dates,  # type: ignore[arg-type]
    )


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


def test_invoice_contains_number_and_formatted_figures() -> None:
    document = make_document(document_discount=1000, amount_paid=10000)
    pdf = render_document_pdf(document=document, compress=False)

    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert b"INV-2026-0042" in pdf
    assert format_money(document.total, "USD").encode() in pdf  # $380.31
    assert b"$380.31" in pdf
    assert b"$280.31" in pdf  # amount due after 100.00 paid
    assert b"14.975%" in pdf
    assert b"-$5.00" in pdf  # the line discount
    assert b"-$15.00" in pdf  # all discounts in the totals block
    assert b"Due date" in pdf
    assert b"13 Apr 2026" in pdf
    assert page_count(pdf) == 1


def test_compressed_output_is_a_pdf_too() -> None:
    pdf = render_document_pdf(document=make_document())
    assert pdf.startswith(b"%PDF-")
    assert b"/FlateDecode" in pdf


def test_draft_quote_shows_draft_and_valid_until() -> None:
    document = make_document(kind="Quote", number=None)
    pdf = render_document_pdf(document=document, compress=False)
    assert b"DRAFT" in pdf
    assert b"QUOTE" in pdf
    assert b"Valid until" in pdf
    assert b"Amount due" not in pdf
    assert format_money(document.total, "USD").encode() in pdf


def test_jpy_and_kwd_use_their_minor_units() -> None:
    jpy = make_document(currency="JPY", items=[("Repair", "1.5", 999, "10", 0)])
    pdf = render_document_pdf(document=jpy, compress=False)
    assert "¥1,649".encode("cp1252") in pdf

    kwd = make_document(currency="kwd", items=[("Repair", "1.5", 1235, "5", 0)])
    pdf = render_document_pdf(document=kwd, compress=False)
    assert b"1.946 KWD" in pdf


def test_many_lines_break_onto_more_pages_with_totals_at_the_end() -> None:
    items = [(f"Replacement part #{i}", str(i % 4 + 1), 1999 + i, "8.25", 0) for i in range(60)]
    document = make_document(items=items)
    pdf = render_document_pdf(document=document, compress=False)
    pages = page_count(pdf)
    assert pages >= 2
    assert f"Page {pages} of".encode() in pdf
    assert b"Replacement part #59" in pdf
    assert format_money(document.total, "USD").encode() in pdf


def test_non_latin_text_does_not_crash_core_fonts() -> None:
    document = make_document(
        customer_name="Łukasz Żółć — 山田太郎 Zoë ﬁne\u200b",
        items=[("Ремонт котла ☃ 🔧 ş", "1", 10000, "20", 0)],
        notes="Ελληνικά\ttab\x00null",
    )
    pdf = render_document_pdf(document=document, compress=False, fonts="core")
    assert pdf.startswith(b"%PDF-")
    # Transliterated where a Latin spelling exists, "?" otherwise; Windows-1252 kept as is.
    assert "Lukasz Zólc — ???? Zoë fine".encode("cp1252") in pdf


def test_empty_and_blank_fields_render() -> None:
    document = make_document(items=[("", "0", 0, "0", 0)], notes="   ")
    pdf = render_document_pdf(document=document, compress=False)
    assert b"$0.00" in pdf
    assert b"NOTES" not in pdf


def test_unicode_font_embeds_a_truetype_font() -> None:
    document = make_document(customer_name="Łukasz Żółć, Ελληνικά, Кириллица")
    pdf = render_document_pdf(document=document, compress=False)
    assert pdf.startswith(b"%PDF-")
    assert b"/FontFile2" in pdf


def extracted_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


NAMES_IN_EVERY_SCRIPT = {
    "greek": "Ελένη Παπαδοπούλου",
    "cyrillic": "Дмитрий Иванов",
    "arabic": "محمد الأحمد",
    "chinese": "王小明",
    "japanese": "山田太郎",
    "korean": "김민준",
    "polish": "Łukasz Żółć",
}


@pytest.mark.parametrize("script", NAMES_IN_EVERY_SCRIPT)
def test_names_in_every_script_print_as_text(script: str) -> None:
    name = NAMES_IN_EVERY_SCRIPT[script]
    document = make_document(
        customer_name=name, items=[(f"Service for {name}", "1", 10000, "0", 0)], notes=f"Thank you, {name}"
    )

    text = extracted_text(render_document_pdf(document=document))

    # Right-to-left words come out in visual order: each word must be there as written.
    for word in name.split():
        assert text.count(word) >= 3, (word, text)
    assert "?" not in text


def test_characters_no_font_has_print_as_a_question_mark_beside_the_rest() -> None:
    document = make_document(customer_name="Ελένη 🔧", items=[("Ремонт ☃ котла", "1", 100, "0", 0)])

    text = extracted_text(render_document_pdf(document=document))

    assert "Ελένη ?" in text
    assert "Ремонт ? котла" in text


def test_a_document_the_core_fonts_can_print_embeds_no_font() -> None:
    pdf = render_document_pdf(document=make_document(customer_name="Zoë Ångström — “Café”"), compress=False)

    assert b"/FontFile2" not in pdf
    assert "Zoë Ångström — “Café”".encode("cp1252") in pdf


def test_inconsistent_figures_are_refused() -> None:
    good = make_document()
    fields = {name: getattr(good, name) for name in good.__dataclass_fields__}
    with pytest.raises(ValueError, match="subtotal"):
        PdfDocument(**{**fields, "subtotal": good.subtotal + 1})
    with pytest.raises(ValueError, match="total"):
        PdfDocument(**{**fields, "total": good.total + 1})
    with pytest.raises(ValueError, match="kind"):
        PdfDocument(**{**fields, "kind": "Receipt"})


def test_description_longer_than_a_page_continues_in_more_rows() -> None:
    # fpdf2 refuses a single table row taller than a page; the renderer must split it.
    description = "Start " + "word " * 2000 + "END"
    document = make_document(items=[(description, "1", 100, "0", 0), ("line\n" * 150, "1", 100, "0", 0)])
    pdf = render_document_pdf(document=document, compress=False)
    assert page_count(pdf) >= 3
    assert b"Start word" in pdf
    assert b"word END" in pdf


def drawn_strings(pdf: bytes) -> list[str]:
    """The strings an uncompressed PDF draws, in order (core fonts, no escapes needed)."""
    return [text.decode("cp1252") for text in re.findall(rb"\((.*?)\) Tj", pdf)]


def test_a_word_wider_than_the_column_is_broken_without_losing_characters() -> None:
    description = "0123456789" * 200
    document = make_document(items=[(description, "1", 100, "0", 0)])

    strings = drawn_strings(render_document_pdf(document=document, compress=False))

    pieces = [text for text in strings if text.startswith("0123")]
    assert len(pieces) > 10
    assert "".join(pieces) == description


def test_newlines_and_words_wrap_into_lines_in_order() -> None:
    description = "Flush the system\n\nthen " + " ".join(f"w{i}" for i in range(300))
    document = make_document(items=[(description, "1", 100, "0", 0)])

    strings = drawn_strings(render_document_pdf(document=document, compress=False))

    start = strings.index("Flush the system")
    body = strings[start + 2 : strings.index("1", start)]
    assert strings[start + 1] == ""
    assert len(body) > 5
    assert " ".join(body) == description.split("\n\n")[1]
