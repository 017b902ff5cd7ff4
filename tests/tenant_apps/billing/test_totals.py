"""Document totals: hand-checked hard cases plus property tests against a Fraction oracle."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenant_apps.billing.totals import (
    DocumentTotals,
    InvalidCurrency,
    InvalidDiscount,
    InvalidLineItem,
    LineInput,
    compute_totals,
    format_money,
    minor_unit_exponent,
)


def line(quantity: str, unit_price: int, tax_rate: str = "0", discount: int = 0) -> LineInput:
    return LineInput(
        quantity=Decimal(quantity),
        unit_price=unit_price,
        tax_rate=Decimal(tax_rate),
        discount=discount,
    )


# --- hand-checked hard cases -------------------------------------------------------------


def test_stacked_gst_plus_qst_on_three_times_19_99() -> None:
    # 3 x 19.99 = 59.97; 59.97 x 14.975 % = 8.9805075 -> 8.98
    totals = compute_totals(lines=[line("3", 1999, "14.975")], currency="CAD")
    assert totals.lines[0].subtotal == 5997
    assert totals.lines[0].tax == 898
    assert (totals.subtotal, totals.tax_total, totals.total) == (5997, 898, 6895)


def test_stacked_rate_is_rounded_once_not_per_component() -> None:
    # 10.10 x 14.975 % = 1.512475 -> 1.51. Rounding GST (0.505 -> 0.51) and QST
    # (1.007475 -> 1.01) separately would give 1.52; one summed rate means one rounding.
    totals = compute_totals(lines=[line("1", 1010, "14.975")], currency="cad")
    assert totals.tax_total == 151


def test_many_tiny_lines_round_per_line_not_on_the_sum() -> None:
    # 0.333 x 1 cent = 0.333 -> 0 on each line; rounding the sum would give 33.
    totals = compute_totals(lines=[line("0.333", 1)] * 100, currency="USD")
    assert [lt.subtotal for lt in totals.lines] == [0] * 100
    assert totals.subtotal == 0
    assert totals.total == 0

    # 0.5 x 1 cent -> 1 on each line (half-up); rounding the sum would give 50.
    totals = compute_totals(lines=[line("0.5", 1)] * 100, currency="USD")
    assert totals.subtotal == 100


def test_many_small_lines_tax_is_rounded_per_line() -> None:
    # 10 cents x 8.25 % = 0.825 -> 1 cent on each line; on the sum it would be 82.5 -> 83.
    totals = compute_totals(lines=[line("1", 10, "8.25")] * 100, currency="USD")
    assert [lt.tax for lt in totals.lines] == [1] * 100
    assert (totals.subtotal, totals.tax_total, totals.total) == (1000, 100, 1100)


def test_jpy_has_no_minor_unit_and_rounds_fractional_quantity_half_up() -> None:
    # 1.5 x 999 yen = 1498.5 -> 1499; tax 10 % = 149.9 -> 150.
    totals = compute_totals(lines=[line("1.5", 999, "10")], currency="jpy")
    assert totals.currency == "JPY"
    assert (totals.subtotal, totals.tax_total, totals.total) == (1499, 150, 1649)
    assert format_money(totals.total, "JPY") == "¥1,649"


def test_three_decimal_currency_kwd() -> None:
    # 1.5 x 1.235 KWD = 1.8525 -> 1.853 (1853 fils); tax 5 % = 92.65 -> 93 fils.
    totals = compute_totals(lines=[line("1.5", 1235, "5")], currency="KWD")
    assert (totals.subtotal, totals.tax_total, totals.total) == (1853, 93, 1946)
    assert format_money(totals.total, "KWD") == "1.946 KWD"
    assert format_money(1234567, "BHD") == "1,234.567 BHD"


@pytest.mark.parametrize(
    ("quantity", "unit_price", "expected"),
    [
        ("0.5", 1, 1),  # banker's rounding would give 0
        ("2.5", 1, 3),  # banker's rounding would give 2
        ("3.5", 1, 4),
        ("0.49", 1, 0),
        ("8.165", 100, 817),  # 816.5 -> 817 (the float trap rounds it to 816)
        ("1.13", 100, 113),  # 1.13 * 100 as a float is 112.999...
    ],
)
def test_half_up_at_exactly_half(quantity: str, unit_price: int, expected: int) -> None:
    totals = compute_totals(lines=[line(quantity, unit_price)], currency="USD")
    assert totals.subtotal == expected


def test_tax_half_up_at_exactly_half() -> None:
    # 10 cents x 5 % = 0.5 -> 1; 30 cents x 5 % = 1.5 -> 2; 9 cents x 5 % = 0.45 -> 0.
    totals = compute_totals(lines=[line("1", 10, "5"), line("1", 30, "5"), line("1", 9, "5")], currency="USD")
    assert [lt.tax for lt in totals.lines] == [1, 2, 0]


def test_line_discount_comes_off_before_tax() -> None:
    # 120.00 - 20.00 = 100.00; tax 8.25 % = 8.25.
    totals = compute_totals(lines=[line("1", 12000, "8.25", discount=2000)], currency="USD")
    lt = totals.lines[0]
    assert (lt.subtotal, lt.discount, lt.amount, lt.taxable, lt.tax) == (
        12000,
        2000,
        10000,
        10000,
        825,
    )
    assert (totals.subtotal, totals.discount_total, totals.total) == (12000, 2000, 10825)


def test_document_discount_largest_remainder_sums_exactly() -> None:
    # 1000 over 1000/2000/3000 = 166.67 / 333.33 / 500 -> 167 / 333 / 500.
    totals = compute_totals(
        lines=[line("1", 1000), line("1", 2000), line("1", 3000)],
        currency="USD",
        document_discount=1000,
    )
    assert [lt.document_discount for lt in totals.lines] == [167, 333, 500]
    assert totals.discount_total == 1000
    assert totals.total == 5000


def test_document_discount_ties_go_to_the_earlier_line() -> None:
    totals = compute_totals(lines=[line("1", 100)] * 3, currency="USD", document_discount=100)
    assert [lt.document_discount for lt in totals.lines] == [34, 33, 33]


def test_document_discount_applies_before_tax_and_after_line_discounts() -> None:
    # Nets 10000 (after a 0 discount) and 5000 (6000 - 1000); 1500 splits 1000 / 500.
    totals = compute_totals(
        lines=[line("1", 10000, "10"), line("1", 6000, "0", discount=1000)],
        currency="USD",
        document_discount=1500,
    )
    assert [lt.document_discount for lt in totals.lines] == [1000, 500]
    assert [lt.taxable for lt in totals.lines] == [9000, 4500]
    assert [lt.tax for lt in totals.lines] == [900, 0]
    assert totals.subtotal == 16000
    assert totals.line_discount_total == 1000
    assert totals.discount_total == 2500
    assert totals.tax_total == 900
    assert totals.total == 14400


def test_document_discount_skips_zero_lines_and_may_cover_everything() -> None:
    totals = compute_totals(
        lines=[line("0", 500), line("1", 300, "20"), line("1", 100, "20", discount=100)],
        currency="USD",
        document_discount=300,
    )
    assert [lt.document_discount for lt in totals.lines] == [0, 300, 0]
    assert totals.tax_total == 0
    assert totals.total == 0


def test_empty_document() -> None:
    totals = compute_totals(lines=[], currency="EUR")
    assert totals == DocumentTotals(
        currency="EUR",
        lines=(),
        subtotal=0,
        line_discount_total=0,
        document_discount=0,
        discount_total=0,
        tax_total=0,
        total=0,
    )


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_line", "field"),
    [
        (line("-1", 100), "quantity"),
        (line("1", -100), "unit_price"),
        (line("1", 100, "-5"), "tax_rate"),
        (line("1", 100, discount=-1), "discount"),
        (line("1", 100, discount=101), "discount"),
        (line("0.333", 1, discount=1), "discount"),  # the line rounds to 0
        (line("NaN", 100), "quantity"),
        (line("Infinity", 100), "quantity"),
        (line("1", 100, "sNaN"), "tax_rate"),
        (line("1E+40", 100), "quantity"),
        (LineInput(quantity=1.5, unit_price=100, tax_rate=Decimal(0)), "quantity"),  # type: ignore[arg-type]
        (LineInput(quantity=Decimal(1), unit_price=1.5, tax_rate=Decimal(0)), "unit_price"),  # type: ignore[arg-type]
        (LineInput(quantity=Decimal(1), unit_price=True, tax_rate=Decimal(0)), "unit_price"),
        (LineInput(quantity=Decimal(1), unit_price=100, tax_rate=8.25), "tax_rate"),  # type: ignore[arg-type]
    ],
)
def test_invalid_line_items(bad_line: LineInput, field: str) -> None:
    with pytest.raises(InvalidLineItem) as excinfo:
        compute_totals(lines=[line("1", 100), bad_line], currency="USD")
    error = excinfo.value
    assert isinstance(error, ValueError)
    assert error.code == "invalid_line_item"
    assert error.line_index == 1
    assert error.field == field
    assert str(error).startswith("Line 2: ")


@pytest.mark.parametrize("discount", [-1, 301, 1.5, True])
def test_invalid_document_discount(discount: object) -> None:
    with pytest.raises(InvalidDiscount) as excinfo:
        compute_totals(
            lines=[line("1", 200), line("1", 100)],
            currency="USD",
            document_discount=discount,  # type: ignore[arg-type]
        )
    assert excinfo.value.code == "invalid_discount"
    assert excinfo.value.field == "document_discount"


def test_document_discount_needs_something_to_discount() -> None:
    with pytest.raises(InvalidDiscount):
        compute_totals(lines=[], currency="USD", document_discount=1)


@pytest.mark.parametrize("currency", ["", "US", "USDX", "U$D", "123", "XYZ", None])
def test_invalid_currency(currency: object) -> None:
    with pytest.raises(InvalidCurrency) as excinfo:
        compute_totals(lines=[], currency=currency)  # type: ignore[arg-type]
    assert excinfo.value.code == "invalid_currency"
    with pytest.raises(InvalidCurrency):
        format_money(100, currency)  # type: ignore[arg-type]


# --- currencies and formatting -----------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [
        ("USD", 2),
        ("eur", 2),
        ("CAD", 2),
        ("JPY", 0),
        ("krw", 0),
        ("VND", 0),
        ("CLP", 0),
        ("ISK", 0),
        ("BHD", 3),
        ("KWD", 3),
        ("OMR", 3),
        ("JOD", 3),
        ("TND", 3),
        ("LYD", 3),
        ("IQD", 3),
        ("CLF", 4),
    ],
)
def test_minor_unit_exponent(currency: str, exponent: int) -> None:
    assert minor_unit_exponent(currency) == exponent


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (123456, "USD", "$1,234.56"),
        (123456, "usd", "$1,234.56"),
        (5, "USD", "$0.05"),
        (0, "USD", "$0.00"),
        (-500, "EUR", "-€5.00"),
        (100000, "GBP", "£1,000.00"),
        (1235, "JPY", "¥1,235"),
        (123456789, "CAD", "1,234,567.89 CAD"),
        (1234567, "KWD", "1,234.567 KWD"),
        (1, "BHD", "0.001 BHD"),
        (1500, "KRW", "1,500 KRW"),
    ],
)
def test_format_money(amount: int, currency: str, expected: str) -> None:
    assert format_money(amount, currency) == expected


def test_format_money_with_codes_only() -> None:
    assert format_money(123456, "USD", use_symbol=False) == "1,234.56 USD"
    assert format_money(1235, "JPY", use_symbol=False) == "1,235 JPY"


def test_format_money_refuses_non_integers() -> None:
    with pytest.raises(TypeError):
        format_money(Decimal("1.5"), "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_money(1.5, "USD")  # type: ignore[arg-type]


# --- properties --------------------------------------------------------------------------


def _half_up(value: Fraction) -> int:
    return floor(value + Fraction(1, 2))


quantities = st.decimals(min_value=0, max_value=10000, places=4, allow_nan=False, allow_infinity=False)
tax_rates = st.decimals(min_value=0, max_value=30, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def documents(draw: st.DrawFn) -> tuple[list[LineInput], int]:
    lines = []
    for _ in range(draw(st.integers(min_value=0, max_value=25))):
        quantity = draw(quantities)
        unit_price = draw(st.integers(min_value=0, max_value=10_000_000))
        subtotal = _half_up(Fraction(quantity) * unit_price)
        discount = draw(st.integers(min_value=0, max_value=subtotal))
        lines.append(
            LineInput(
                quantity=quantity,
                unit_price=unit_price,
                tax_rate=draw(tax_rates),
                discount=discount,
            )
        )
    base = sum(_half_up(Fraction(li.quantity) * li.unit_price) - li.discount for li in lines)
    document_discount = draw(st.one_of(st.just(0), st.just(base), st.integers(min_value=0, max_value=base)))
    return lines, document_discount


@settings(max_examples=300, deadline=None)
@given(documents(), st.sampled_from(["USD", "JPY", "KWD", "EUR"]))
def test_totals_properties(document: tuple[list[LineInput], int], currency: str) -> None:
    lines, document_discount = document
    totals = compute_totals(lines=lines, currency=currency, document_discount=document_discount)

    assert len(totals.lines) == len(lines)
    for value in (totals.subtotal, totals.discount_total, totals.tax_total, totals.total):
        assert value >= 0
    for lt in totals.lines:
        for value in (lt.subtotal, lt.discount, lt.document_discount, lt.taxable, lt.tax):
            assert value >= 0
            assert isinstance(value, int)
        assert lt.taxable == lt.subtotal - lt.discount - lt.document_discount
        assert lt.total == lt.taxable + lt.tax

    assert sum(lt.subtotal for lt in totals.lines) == totals.subtotal
    assert sum(lt.tax for lt in totals.lines) == totals.tax_total
    assert sum(lt.document_discount for lt in totals.lines) == document_discount
    assert sum(lt.discount + lt.document_discount for lt in totals.lines) == (totals.discount_total)
    assert totals.total == totals.subtotal - totals.discount_total + totals.tax_total
    assert sum(lt.total for lt in totals.lines) == totals.total

    # Independent oracle in exact rationals for every per-line figure.
    nets = [lt.subtotal - lt.discount for lt in totals.lines]
    base = sum(nets)
    for li, lt, net in zip(lines, totals.lines, nets, strict=True):
        assert lt.subtotal == _half_up(Fraction(li.quantity) * li.unit_price)
        assert lt.tax == _half_up(lt.taxable * Fraction(li.tax_rate) / 100)
        if base:
            # Each share is its exact pro-rata part, rounded down or up by less than 1.
            assert abs(lt.document_discount - Fraction(document_discount * net, base)) < 1


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=40), st.data())
def test_document_discount_parts_sum_exactly(prices: list[int], data: st.DataObject) -> None:
    document_discount = data.draw(st.integers(min_value=0, max_value=sum(prices)))
    totals = compute_totals(
        lines=[line("1", price) for price in prices],
        currency="USD",
        document_discount=document_discount,
    )
    shares = [lt.document_discount for lt in totals.lines]
    assert sum(shares) == document_discount
    assert all(0 <= share <= price for share, price in zip(shares, prices, strict=True))
