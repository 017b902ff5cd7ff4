"""PDF rendering of quotes and invoices with fpdf2 (pure Python, no browser, no Django).

The renderer never computes money: it prints the figures it is given (which come from
``totals.compute_totals``) and refuses a document whose figures do not add up, so a PDF
can never disagree with the API about what is owed.
"""

from __future__ import annotations

import functools
import io
import itertools
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

import fontpkg_almarai
import fontpkg_fira_sans
import paperang_p2_fonts_cjk
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from tenant_apps.billing.totals import format_money, normalize_currency

__all__ = ["PdfDocument", "PdfLine", "PdfPhoto", "UnicodeFont", "render_document_pdf"]

DocumentKind = Literal["Quote", "Invoice"]
PageFormat = Literal["A4", "Letter"]
# "auto": the PDF core fonts when they can print every character of the document (small,
# fast), otherwise the shipped Unicode fonts (`document_fonts`).
FontChoice = Literal["auto", "core", "unicode"]

_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)

# Core PDF fonts only cover one 8-bit code page. Windows-1252 is Latin-1 plus the euro
# sign, curly quotes and dashes, which is what business text mostly needs.
_CORE_ENCODING = "windows-1252"
# Right-to-left scripts (Hebrew, Arabic): HarfBuzz orders and joins them.
_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
# Almarai's OS/2 table sets style bits its version predates; every subset would log that
# harmless warning.
logging.getLogger("fontTools.ttLib.tables.O_S_2f_2").setLevel(logging.ERROR)
# Letters that have no decomposition to a base letter but an obvious Latin spelling.
_TRANSLITERATIONS = {
    "\N{LATIN CAPITAL LETTER L WITH STROKE}": "L",
    "\N{LATIN SMALL LETTER L WITH STROKE}": "l",
    "\N{LATIN CAPITAL LETTER D WITH STROKE}": "D",
    "\N{LATIN SMALL LETTER D WITH STROKE}": "d",
    "\N{LATIN CAPITAL LETTER H WITH STROKE}": "H",
    "\N{LATIN SMALL LETTER H WITH STROKE}": "h",
    "\N{LATIN SMALL LETTER DOTLESS I}": "i",
    "\N{LATIN CAPITAL LETTER L WITH MIDDLE DOT}": "L",
    "\N{LATIN SMALL LETTER L WITH MIDDLE DOT}": "l",
    "\N{LATIN SMALL LETTER T WITH STROKE}": "t",
    "\N{LATIN CAPITAL LETTER T WITH STROKE}": "T",
    "\N{HYPHEN}": "-",
    "\N{NON-BREAKING HYPHEN}": "-",
    "\N{FIGURE DASH}": "-",
    "\N{MINUS SIGN}": "-",
    "\N{NARROW NO-BREAK SPACE}": " ",
    "\N{THIN SPACE}": " ",
    "\N{ZERO WIDTH SPACE}": "",
    "\N{ZERO WIDTH NO-BREAK SPACE}": "",
}

_ROW_LINE_H = 4.5
_CELL_PAD_X = 1.8
_CELL_PAD_Y = 1.4
# The running header of pages after the first: its height and the space below it.
_RUNNING_HEADER_H = 5.0
_RUNNING_HEADER_GAP = 4.0
_MARGIN = 18.0
# Where the first row of a table continued on a new page starts: below the running header
# and the repeated headings row.
_CONTINUED_TABLE_TOP = _MARGIN + _RUNNING_HEADER_H + _RUNNING_HEADER_GAP + _ROW_LINE_H + 2 * _CELL_PAD_Y

_LOGO_H = 14.0
_INK = (33, 37, 41)
_MUTED = (108, 117, 125)
_RULE = (206, 212, 218)
_HEADING_FILL = (233, 236, 239)
_ZEBRA_FILL = (248, 249, 250)
# The most a printed photo may take of the page's height (mm); two fit an A4 page.
_PHOTO_HEIGHT = 110.0


def _hex_color(value: str) -> tuple[int, int, int]:
    """ "#1A73E8" as RGB."""
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


@dataclass(frozen=True, slots=True, kw_only=True)
class PdfLine:
    """One row of the items table.

    ``amount`` is the line subtotal, quantity x unit price rounded (``LineTotals.subtotal``);
    the line's ``discount`` is shown beside it and both are summed in the totals block.
    Money is integer minor units of the document currency.
    """

    description: str
    quantity: Decimal
    unit_price: int
    tax_rate: Decimal
    amount: int
    discount: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PdfPhoto:
    """A photo printed after the document's text, with its caption. `image` (JPEG or PNG
    bytes) is left out of the repr, so what a document prints is digested by `attachment_id`
    and caption, not by its megabytes."""

    attachment_id: int
    caption: str
    image: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class PdfDocument:
    """Everything printed on a quote or invoice; money in integer minor units.

    ``number`` is ``None`` for drafts (printed as "DRAFT"). ``due_date`` is printed for
    invoices, ``valid_until`` for quotes. Construction fails with ``ValueError`` if the
    figures are inconsistent: line amounts must add up to ``subtotal`` and
    ``total == subtotal - discount_total + tax_total``.
    """

    kind: DocumentKind
    number: str | None
    business_name: str
    customer_name: str
    issue_date: date
    currency: str
    lines: Sequence[PdfLine]
    subtotal: int
    discount_total: int
    tax_total: int
    total: int
    business_address: str | None = None
    business_phone: str | None = None
    business_email: str | None = None
    business_tax_id: str | None = None
    customer_email: str | None = None
    customer_address: str | None = None
    # The customer's property where the work is, in lines.
    service_address: str | None = None
    # The business's brand: "#RRGGBB" for its name and the title, and a PNG or JPEG logo.
    brand_color: str | None = None
    logo: bytes | None = None
    due_date: date | None = None
    valid_until: date | None = None
    amount_paid: int | None = None
    amount_due: int | None = None
    credit: int | None = None
    # Where the customer pays the invoice by card (an unpaid invoice of a business taking cards).
    pay_url: str | None = None
    # A quote's answer given by the customer online: who, when, from where (Quote.customer_decision).
    decision: str | None = None
    notes: str | None = None
    photos: Sequence[PdfPhoto] = ()
    # A quote's optional lines not chosen: printed apart, outside the totals.
    optional_lines: Sequence[PdfLine] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("Quote", "Invoice"):
            raise ValueError(f"kind must be 'Quote' or 'Invoice', got {self.kind!r}")
        # Frozen: normalise through object.__setattr__ so callers may pass lists and "usd".
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "optional_lines", tuple(self.optional_lines))
        object.__setattr__(self, "photos", tuple(self.photos))
        object.__setattr__(self, "currency", normalize_currency(self.currency))
        line_sum = sum(line.amount for line in self.lines)
        if line_sum != self.subtotal:
            raise ValueError(f"line amounts add up to {line_sum}, not subtotal {self.subtotal}")
        expected = self.subtotal - self.discount_total + self.tax_total
        if expected != self.total:
            raise ValueError(f"total {self.total} != subtotal - discount_total + tax_total ({expected})")


@dataclass(frozen=True, slots=True, kw_only=True)
class UnicodeFont:
    """A TrueType family to print scripts the core fonts lack."""

    regular: Path
    bold: Path | None  # None: bold text takes the regular glyphs
    family: str


@functools.cache
def document_fonts() -> tuple[UnicodeFont, ...]:
    """The TrueType families documents print every script with, from Python packages (OFL
    or Apache licensed): Fira Sans for Latin, Greek and Cyrillic, then the fallbacks for
    the characters it lacks, Almarai for Arabic and WenQuanYi Micro Hei (one weight) for
    Chinese, Japanese and Korean. Only the glyphs a document uses are embedded."""
    fira = fontpkg_fira_sans.ROOT / "files"
    almarai = fontpkg_almarai.ROOT / "files"
    cjk = Path(paperang_p2_fonts_cjk.__file__).parent / "fonts" / "wqy-microhei.ttc"
    return (
        UnicodeFont(regular=fira / "FiraSans-Regular.ttf", bold=fira / "FiraSans-Bold.ttf", family="FiraSans"),
        UnicodeFont(regular=almarai / "Almarai-Regular.ttf", bold=almarai / "Almarai-Bold.ttf", family="Almarai"),
        UnicodeFont(regular=cjk, bold=None, family="WenQuanYiMicroHei"),
    )


def render_document_pdf(
    *,
    document: PdfDocument,
    compress: bool = True,
    fonts: FontChoice = "auto",
    page_format: PageFormat = "A4",
) -> bytes:
    """Render ``document`` to PDF bytes.

    By default a document whose text Windows-1252 covers is printed with the core fonts,
    and any other with the Unicode fonts (`document_fonts`), so names in every script
    print as written. With ``fonts="core"`` characters outside Windows-1252 are
    transliterated ("Łódź" -> "Lodz") or replaced by "?" rather than failing.
    ``compress=False`` leaves page streams readable, which tests use to find text in the
    output.
    """
    pdf = _DocumentPdf(document=document, fonts=fonts, page_format=page_format)
    pdf.set_compression(compress)
    pdf.render_document()
    return bytes(pdf.output())


@dataclass(frozen=True, slots=True, kw_only=True)
class _Table:
    headings: tuple[str, ...]
    widths: tuple[float, ...]
    aligns: tuple[str, ...]


class _DocumentPdf(FPDF):
    def __init__(
        self,
        *,
        document: PdfDocument,
        fonts: FontChoice,
        page_format: PageFormat,
    ) -> None:
        super().__init__(orientation="portrait", unit="mm", format=page_format)
        self._doc = document
        self._width_tables: dict[tuple[str, str, float], dict[str, float]] = {}
        self._clean: Callable[[str], str]
        # The Unicode fonts in use, main one first; none: the core fonts.
        self._fonts: list[UnicodeFont] = []
        if fonts == "core" or (fonts == "auto" and _core_fonts_print(document)):
            self._family = "Helvetica"
            self.core_fonts_encoding = _CORE_ENCODING
            self._clean = _to_core_font_text
        else:
            text = _document_text(document)
            self._fonts = _fonts_for(text)
            for font in self._fonts:
                self.add_font(font.family, "", str(font.regular))
                if font.bold is not None:
                    self.add_font(font.family, "B", str(font.bold))
            self.set_fallback_fonts([font.family for font in self._fonts[1:]], exact_match=False)
            # HarfBuzz joins Arabic letters and orders right-to-left runs; other scripts
            # print as well without it, and it costs on every cell.
            self.set_text_shaping(bool(_RIGHT_TO_LEFT.search(text)))
            self._family = self._fonts[0].family
            self._covered = frozenset().union(*(_coverage(font.regular) for font in self._fonts))
            # Each character's font, first of `_fonts` with its glyph, found once per document.
            self._char_fonts: dict[str, UnicodeFont] = {}
            self._clean = self._to_unicode_font_text
        self.set_margins(left=_MARGIN, top=_MARGIN, right=_MARGIN)
        self.set_auto_page_break(auto=True, margin=20)
        self.alias_nb_pages()
        self._brand = _hex_color(document.brand_color) if document.brand_color else _INK
        self._number_label = document.number or "DRAFT"
        title = f"{document.kind} {self._number_label}"
        self.set_title(title)
        self.set_author(document.business_name)
        self.set_subject(f"{title} for {document.customer_name}")
        self.set_creator("tenant_apps.billing.pdf")

    def _money(self, amount: int) -> str:
        return format_money(amount, self._doc.currency)

    def _style(self, size: float, *, bold: bool = False, color: tuple[int, int, int] = _INK) -> None:
        self.set_font(self._family, "B" if bold else "", size)
        self.set_text_color(*color)

    def _text_line(self, width: float, height: float, text: str, *, align: str = "L") -> None:
        self.cell(
            width,
            height,
            self._clean(text),
            align=align,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    # fpdf2 calls these on every page.
    def header(self) -> None:
        if self.page_no() == 1:
            return
        self._style(8, color=_MUTED)
        self.cell(
            self.epw / 2,
            _RUNNING_HEADER_H,
            self._clean(self._doc.business_name),
            new_x=XPos.RIGHT,
            new_y=YPos.TOP,
        )
        self.cell(
            self.epw / 2,
            _RUNNING_HEADER_H,
            self._clean(f"{self._doc.kind} {self._number_label} (continued)"),
            align="R",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.ln(_RUNNING_HEADER_GAP)

    def footer(self) -> None:
        self.set_y(-13)
        self._style(8, color=_MUTED)
        text = f"{self._doc.kind} {self._number_label}  ·  Page {self.page_no()} of {{nb}}"
        self.cell(0, 5, self._clean(text), align="C")

    def render_document(self) -> None:
        self.add_page()
        self._header_block()
        self._parties_block()
        self._items_table()
        self._totals_block()
        self._optional_block()
        self._decision_block()
        self._pay_online_block()
        self._notes_block()
        self._photos_block()

    def _header_block(self) -> None:
        doc = self._doc
        top = self.get_y()
        half = self.epw / 2

        if doc.logo:
            self.image(io.BytesIO(doc.logo), x=self.l_margin, y=top, w=half, h=_LOGO_H, keep_aspect_ratio=True)
            self.set_y(top + _LOGO_H + 2)
        self._style(16, bold=True, color=self._brand)
        self.multi_cell(half + 10, 7, self._clean(doc.business_name), new_x=XPos.LMARGIN)
        self._style(9, color=_MUTED)
        contact = _lines(doc.business_address) + _lines(doc.business_phone) + _lines(doc.business_email)
        if doc.business_tax_id:
            contact.append(f"Tax ID: {doc.business_tax_id}")
        for text in contact:
            self._text_line(half + 10, 4.5, text)
        left_bottom = self.get_y()

        self.set_xy(self.l_margin + half, top)
        self._style(22, bold=True, color=self._brand)
        self.cell(half, 10, doc.kind.upper(), align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_x(self.l_margin + half)
        self._style(11, bold=doc.number is not None, color=_INK if doc.number else _MUTED)
        self.cell(half, 6, self._clean(self._number_label), align="R")

        self.set_y(max(left_bottom, top + 16) + 5)
        self._rule()
        self.ln(5)

    def _parties_block(self) -> None:
        doc = self._doc
        top = self.get_y()
        half = self.epw / 2

        self._style(8, bold=True, color=_MUTED)
        self._text_line(half, 5, "BILL TO" if doc.kind == "Invoice" else "PREPARED FOR")
        self._style(11, bold=True)
        self.multi_cell(half - 5, 5.5, self._clean(doc.customer_name), new_x=XPos.LMARGIN)
        self._style(9)
        for text in _lines(doc.customer_address) + _lines(doc.customer_email):
            self._text_line(half - 5, 4.5, text)
        if doc.service_address:
            self.ln(2)
            self._style(8, bold=True, color=_MUTED)
            self._text_line(half, 5, "SERVICE ADDRESS")
            self._style(9)
            for text in _lines(doc.service_address):
                self._text_line(half - 5, 4.5, text)
        left_bottom = self.get_y()

        rows: list[tuple[str, str, bool]] = [("Issue date", _format_date(doc.issue_date), False)]
        if doc.kind == "Invoice" and doc.due_date is not None:
            rows.append(("Due date", _format_date(doc.due_date), False))
        if doc.kind == "Quote" and doc.valid_until is not None:
            rows.append(("Valid until", _format_date(doc.valid_until), False))
        rows.append(("Currency", doc.currency, False))
        if doc.kind == "Invoice" and doc.amount_due is not None:
            rows.append(("Amount due", self._money(doc.amount_due), True))
        else:
            rows.append(("Total", self._money(doc.total), True))

        label_w, value_w = 32.0, 42.0
        x = self.l_margin + self.epw - label_w - value_w
        self.set_y(top)
        for label, value, strong in rows:
            self.set_x(x)
            self._style(9, color=_MUTED, bold=strong)
            self.cell(label_w, 6, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
            self._style(11 if strong else 9, bold=strong)
            self.cell(
                value_w,
                6,
                self._clean(value),
                align="R",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )

        self.set_y(max(left_bottom, self.get_y()) + 8)

    def _items_table(self) -> None:
        # The discount column only earns its width when some line has a discount.
        with_discount = any(line.discount for line in self._doc.lines)
        columns: list[tuple[str, float, str]] = [
            ("Description", 0.0, "L"),
            ("Qty", 14.0, "R"),
            ("Unit price", 24.0, "R"),
        ]
        if with_discount:
            columns.append(("Discount", 21.0, "R"))
        columns += [("Tax", 19.0, "R"), ("Amount", 25.0, "R")]
        description_w = self.epw - sum(width for _, width, _ in columns)
        table = _Table(
            headings=tuple(heading for heading, _, _ in columns),
            widths=tuple(width or description_w for _, width, _ in columns),
            aligns=tuple(align for _, _, align in columns),
        )
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        self._table_headings(table)
        for index, line in enumerate(self._doc.lines):
            cells = [self._clean(line.description) or "-", _format_decimal(line.quantity), self._money(line.unit_price)]
            if with_discount:
                cells.append(self._money(-line.discount) if line.discount else "")
            cells += [f"{_format_decimal(line.tax_rate)}%", self._money(line.amount)]
            self._table_row(table, cells, fill=_ZEBRA_FILL if index % 2 else None)

    def _table_headings(self, table: _Table) -> None:
        self._style(9, bold=True)
        self._draw_row_part(table, [[heading] for heading in table.headings], 0, 1, fill=_HEADING_FILL)
        self._style(9)

    def _table_row(self, table: _Table, cells: list[str], *, fill: tuple[int, int, int] | None) -> None:
        """One row of wrapped cells. A row that does not fit moves to the next page; a row
        taller than a page continues there, below the repeated headings.

        fpdf2's tables and `multi_cell` re-measure the line being built after every
        character and wrap each cell twice, which made long descriptions cost seconds; here
        each cell is wrapped once, in linear time, and drawn line by line with `text()`."""
        wrapped = [self._wrap(text, width - 2 * _CELL_PAD_X) for text, width in zip(cells, table.widths, strict=True)]
        height = max(len(lines) for lines in wrapped)
        start, new_page = 0, False
        while start < height:
            room = self._lines_that_fit(self.get_y())
            fits_a_page = height <= self._lines_that_fit(_CONTINUED_TABLE_TOP)
            if not new_page and (room < 1 or (start == 0 and room < height and fits_a_page)):
                self.add_page()
                self._table_headings(table)
                new_page = True
                continue
            end = min(height, start + max(room, 1))  # at least a line per page: always progress
            self._draw_row_part(table, wrapped, start, end, fill=fill)
            start, new_page = end, False

    def _lines_that_fit(self, top: float) -> int:
        return int((self.page_break_trigger - top - 2 * _CELL_PAD_Y) // _ROW_LINE_H)

    def _draw_row_part(
        self, table: _Table, wrapped: list[list[str]], start: int, end: int, *, fill: tuple[int, int, int] | None
    ) -> None:
        """Lines `start:end` of each cell, a background and a rule below them."""
        top = self.get_y()
        height = (end - start) * _ROW_LINE_H + 2 * _CELL_PAD_Y
        if fill is not None:
            self.set_fill_color(*fill)
            self.rect(self.l_margin, top, self.epw, height, style="F")
        # Text is painted with the fill colour: when it is already the text colour, `text()`
        # need not wrap every line in a colour change.
        self.set_fill_color(self.text_color)
        x = self.l_margin
        for lines, width, align in zip(wrapped, table.widths, table.aligns, strict=True):
            for offset, text in enumerate(lines[start:end]):
                left = x + width - _CELL_PAD_X - self._text_width(text) if align == "R" else x + _CELL_PAD_X
                self._put_line(left, top + _CELL_PAD_Y + offset * _ROW_LINE_H, _ROW_LINE_H, text)
            x += width
        self.line(self.l_margin, top + height, self.l_margin + self.epw, top + height)
        self.set_y(top + height)

    def _char_widths(self, text: str) -> dict[str, float]:
        """Widths of the characters of `text` in the current font, each measured once."""
        widths = self._width_tables.setdefault((self.font_family, self.font_style, self.font_size_pt), {})
        for char in set(text).difference(widths):
            widths[char] = self.get_string_width(char)
        return widths

    def _text_width(self, text: str) -> float:
        return sum(map(self._char_widths(text).__getitem__, text))

    def _wrap(self, text: str, width: float) -> list[str]:
        """`text` in lines no wider than `width`: broken at newlines, between words, and
        inside a word only when it alone is wider than a line. Linear in ``len(text)``."""
        widths = self._char_widths(text + " ")
        space = widths[" "]
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line: list[str] = []
            line_w = 0.0
            for word in paragraph.split(" "):
                word_w = sum(map(widths.__getitem__, word))
                if line and line_w + space + word_w <= width:
                    line.append(word)
                    line_w += space + word_w
                    continue
                if line:
                    lines.append(" ".join(line))
                while word_w > width and len(word) > 1:
                    cut, cut_w = 1, widths[word[0]]
                    while cut < len(word) and cut_w + widths[word[cut]] <= width:
                        cut_w += widths[word[cut]]
                        cut += 1
                    lines.append(word[:cut])
                    word, word_w = word[cut:], word_w - cut_w
                line, line_w = [word], word_w
            lines.append(" ".join(line))
        return lines

    def _totals_block(self) -> None:
        doc = self._doc
        rows: list[tuple[str, str, bool]] = [("Subtotal", self._money(doc.subtotal), False)]
        if doc.discount_total:
            rows.append(("Discount", self._money(-doc.discount_total), False))
        rows.append(("Tax", self._money(doc.tax_total), False))
        rows.append(("Total", self._money(doc.total), True))
        if doc.kind == "Invoice" and doc.amount_paid:
            rows.append(("Paid", self._money(-doc.amount_paid), False))
        if doc.kind == "Invoice" and doc.amount_due is not None:
            rows.append(("Amount due", self._money(doc.amount_due), True))
        if doc.kind == "Invoice" and doc.credit:
            rows.append(("Credit", self._money(doc.credit), False))

        row_h = 6.5
        needed = 6 + row_h * len(rows) + 4
        if self.will_page_break(needed):
            self.add_page()
        self.ln(4)
        label_w, value_w = 40.0, 36.0
        x = self.l_margin + self.epw - label_w - value_w
        for label, value, strong in rows:
            if strong:
                self.set_draw_color(*_INK)
                self.line(x, self.get_y(), x + label_w + value_w, self.get_y())
            self.set_x(x)
            self._style(10, bold=strong, color=_INK if strong else _MUTED)
            self.cell(label_w, row_h, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
            self._style(11 if strong else 10, bold=strong)
            self.cell(value_w, row_h, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _optional_block(self) -> None:
        if not self._doc.optional_lines:
            return
        self.ln(6)
        if self.will_page_break(15):
            self.add_page()
        self._style(8, bold=True, color=_MUTED)
        self._text_line(self.epw, 5, "OPTIONAL, NOT INCLUDED IN THE TOTAL")
        self._style(9)
        for line in self._doc.optional_lines:
            text = f"{line.description}: {_format_decimal(line.quantity)} x {self._money(line.unit_price)}"
            self._paragraph(self._clean(text), line_height=4.5)

    def _decision_block(self) -> None:
        if not self._doc.decision:
            return
        self.ln(6)
        if self.will_page_break(15):
            self.add_page()
        self._style(8, bold=True, color=_MUTED)
        self._text_line(self.epw, 5, "CUSTOMER'S ANSWER")
        self._style(9)
        self._paragraph(self._clean(self._doc.decision), line_height=4.5)

    def _pay_online_block(self) -> None:
        if not self._doc.pay_url:
            return
        self.ln(6)
        if self.will_page_break(15):
            self.add_page()
        self._style(8, bold=True, color=_MUTED)
        self._text_line(self.epw, 5, "PAY ONLINE BY CARD")
        self._style(9)
        top = self.get_y()
        self._paragraph(self._doc.pay_url, line_height=4.5)
        # A link annotation over the printed URL: on screen the customer taps it.
        width = min(self._text_width(self._doc.pay_url), self.epw - 2 * self.c_margin)
        self.link(self.l_margin + self.c_margin, top, width, self.get_y() - top, self._doc.pay_url)

    def _notes_block(self) -> None:
        if not self._doc.notes or not self._doc.notes.strip():
            return
        self.ln(8)
        if self.will_page_break(15):
            self.add_page()
        self._style(8, bold=True, color=_MUTED)
        self._text_line(self.epw, 5, "NOTES")
        self._style(9)
        self._paragraph(self._clean(self._doc.notes.strip()), line_height=4.5)

    def _photos_block(self) -> None:
        """The chosen photos, each as wide as the page allows and at most PHOTO_HEIGHT high,
        its caption below; a photo that does not fit the page starts the next."""
        if not self._doc.photos:
            return
        self.ln(8)
        self._style(8, bold=True, color=_MUTED)
        self._text_line(self.epw, 5, "PHOTOS")
        for photo in self._doc.photos:
            if self.will_page_break(_PHOTO_HEIGHT + 8):
                self.add_page()
            top = self.get_y()
            self.image(
                io.BytesIO(photo.image), x=self.l_margin, y=top, w=self.epw, h=_PHOTO_HEIGHT, keep_aspect_ratio=True
            )
            self.set_y(top + _PHOTO_HEIGHT + 1)
            if photo.caption.strip():
                self._style(9)
                self._paragraph(self._clean(photo.caption.strip()), line_height=4.5)
            self.ln(4)

    def _paragraph(self, text: str, *, line_height: float) -> None:
        """Wrapped text across the page, breaking pages between lines; `text()` per line
        rather than `cell()`, which costs several times more per call."""
        self.set_fill_color(self.text_color)
        for line in self._wrap(text, self.epw - 2 * self.c_margin):
            if self.will_page_break(line_height):
                self.add_page()
            y = self.get_y()
            self._put_line(self.l_margin + self.c_margin, y, line_height, line)
            self.set_y(y + line_height)

    def _put_line(self, left: float, top: float, height: float, text: str) -> None:
        """One line of text in the box from (`left`, `top`), on the baseline `cell()` uses
        (half the height plus 0.3 em), with `text()`, the cheapest call: it neither picks
        fallback fonts nor shapes, so a line is drawn in runs of one font each, and a
        right-to-left line, rare and short, with `cell()`, which shapes it."""
        baseline = top + 0.5 * height + 0.3 * self.font_size
        if not self._fonts:
            self.text(left, baseline, text)
            return
        if _RIGHT_TO_LEFT.search(text):
            self.set_xy(left - self.c_margin, top)
            self.cell(self._text_width(text) + 2 * self.c_margin, height, text)
            return
        family, style, size = self.font_family, self.font_style, self.font_size_pt
        for font, run in self._font_runs(text):
            if font.family != self.font_family:
                self.set_font(font.family, style if font.bold is not None else "", size)
            self.text(left, baseline, run)
            left += self._text_width(run)
        if self.font_family != family:
            self.set_font(family, style, size)

    def _font_runs(self, text: str) -> list[tuple[UnicodeFont, str]]:
        """`text` cut where the font that has its glyphs changes."""
        fonts = self._char_fonts
        for char in set(text).difference(fonts):
            fonts[char] = next((font for font in self._fonts if ord(char) in _coverage(font.regular)), self._fonts[0])
        return [(font, "".join(chars)) for font, chars in itertools.groupby(text, key=fonts.__getitem__)]

    def _to_unicode_font_text(self, text: str) -> str:
        """Controls stripped, and "?" for what no font in use has a glyph for (an emoji)."""
        text = _strip_controls(text)
        if {ord(char) for char in text} - {ord("\n")} <= self._covered:
            return text
        return "".join(char if char == "\n" or ord(char) in self._covered else "?" for char in text)

    def _rule(self) -> None:
        self.set_draw_color(*_RULE)
        self.set_line_width(0.3)
        y = self.get_y()
        self.line(self.l_margin, y, self.l_margin + self.epw, y)


def _lines(text: str | None) -> list[str]:
    if not text:
        return []
    return [part.strip() for part in text.splitlines() if part.strip()]


def _format_date(value: date) -> str:
    # Month names from a table, not strftime, so a process locale cannot change them.
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def _format_decimal(value: Decimal) -> str:
    """Plain notation without trailing zeros: 2.500 -> "2.5", 1E+1 -> "10"."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _strip_controls(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\t", " ")
    if all(part.isprintable() for part in text.split("\n")):
        return text  # the usual case, checked at C speed
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch)[0] != "C")


def _fonts_for(text: str) -> list[UnicodeFont]:
    """The main Unicode font and the fallbacks `text` needs: loading a font costs more than
    rendering a page, so a document loads only the ones with glyphs it uses."""
    main, *fallbacks = document_fonts()
    missing = {ord(char) for char in text} - _coverage(main.regular)
    return [main, *(font for font in fallbacks if missing & _coverage(font.regular))]


@functools.cache
def _coverage(path: Path) -> frozenset[int]:
    """The code points a font has glyphs for."""
    with TTFont(path, fontNumber=0, lazy=True) as font:
        return frozenset(font.getBestCmap())


def _document_text(document: PdfDocument) -> str:
    """All the free text a document prints (the rest is ASCII labels and figures)."""
    texts = [
        document.number,
        document.business_name,
        document.business_address,
        document.business_phone,
        document.business_email,
        document.business_tax_id,
        document.customer_name,
        document.customer_email,
        document.customer_address,
        document.service_address,
        document.notes,
        document.decision,
        *(line.description for line in (*document.lines, *document.optional_lines)),
        *(photo.caption for photo in document.photos),
    ]
    return "\n".join(text for text in texts if text)


def _core_fonts_print(document: PdfDocument) -> bool:
    """Whether the core fonts print every character of the document's text as written."""
    text = _document_text(document)
    return _to_core_font_text(text) == _strip_controls(text)


def _to_core_font_text(text: str) -> str:
    """Make ``text`` printable with a core font: keep, transliterate, or replace by "?"."""
    text = _strip_controls(text)
    try:
        text.encode(_CORE_ENCODING)
    except UnicodeEncodeError:
        return "".join(map(_to_core_font_char, text))
    return text


@functools.lru_cache(maxsize=4096)
def _to_core_font_char(ch: str) -> str:
    if _encodable(ch):
        return ch
    if ch in _TRANSLITERATIONS:
        return _TRANSLITERATIONS[ch]
    # NFKD splits "ş" into "s" + cedilla and "ﬁ" into "fi"; keep what the font has.
    base = "".join(
        part for part in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(part) and _encodable(part)
    )
    return base or "?"


def _encodable(ch: str) -> bool:
    try:
        ch.encode(_CORE_ENCODING)
    except UnicodeEncodeError:
        return False
    return True
