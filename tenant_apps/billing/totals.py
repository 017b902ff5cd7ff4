"""Document totals for quotes and invoices: the one place money on a document is computed.

Amounts are integers in the currency's minor unit (cents, yen, fils); quantities and tax
rates are ``Decimal``. Nothing here touches a float, Django or the database, so the API,
the PDF renderer, jobs and tests all get the same numbers from the same function.

The rules, as trade businesses bill and their accountants expect:

* line subtotal = quantity x unit price, rounded half-up to the minor unit;
* the line's own discount comes off next;
* a document discount is then shared out over the lines pro rata to what is left of
  each (largest remainder, so the shares add up to the discount exactly);
* tax is computed per line on that reduced amount and rounded half-up per line;
* document figures are plain sums of the line figures, so they can never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

import pycountry

__all__ = [
    "MAX_AMOUNT",
    "DocumentTotals",
    "InvalidCurrency",
    "InvalidDiscount",
    "InvalidLineItem",
    "LineInput",
    "LineTotals",
    "MoneyError",
    "compute_totals",
    "format_money",
    "minor_unit_exponent",
    "normalize_currency",
]

# Large enough that every product below is exact for any input that passes validation
# (quantity <= 30 digits, tax rate <= 15 digits, amounts <= 10**18); rounding then
# happens only where we ask for it, with ROUND_HALF_UP.
_CONTEXT = Context(prec=120, rounding=ROUND_HALF_UP)

# The largest amount anywhere on a document, in minor units: each entered amount, each line
# and the document's subtotal and total. Far beyond any real document, well inside a
# PostgreSQL bigint (about 9.2 * 10**18), so a stored total never overflows.
MAX_AMOUNT = 10**18
_MAX_QUANTITY_DIGITS = 30
_MAX_TAX_RATE_DIGITS = 15
_ONE = Decimal(1)

# ISO 4217 minor units that differ from the usual 2. Payment providers have their own
# lists (Stripe treats e.g. ISK, HUF, TWD and UGX specially); those belong to the payments
# module, not to how a document is totalled.
_EXPONENT_0 = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
_EXPONENT_3 = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_EXPONENT_4 = frozenset({"CLF", "UYW"})

# Only symbols nobody misreads; every other currency is written with its code
# ("1,234.56 CAD") because "$" alone is ambiguous between USD, CAD, AUD, ...
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

_CURRENCY_RE = re.compile(r"[A-Za-z]{3}")


class MoneyError(ValueError):
    """A domain error in document money; ``code`` is stable for API error mapping."""

    code = "invalid_money"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidLineItem(MoneyError):
    """A line item that cannot be totalled (negative values, discount above the line...).

    ``line_index`` is the 0-based position of the line, ``field`` the offending input
    (``"quantity"``, ``"unit_price"``, ``"tax_rate"`` or ``"discount"``).
    """

    code = "invalid_line_item"

    def __init__(self, message: str, *, line_index: int, field: str) -> None:
        super().__init__(f"Line {line_index + 1}: {message}", field=field)
        self.line_index = line_index


class InvalidDiscount(MoneyError):
    """A document discount that is negative or larger than what it would discount."""

    code = "invalid_discount"


class InvalidCurrency(MoneyError):
    """A currency that is not an ISO 4217 alphabetic code."""

    code = "invalid_currency"


@dataclass(frozen=True, slots=True, kw_only=True)
class LineInput:
    """One line item as entered.

    ``quantity`` and ``tax_rate`` (percent: ``Decimal("8.25")`` is 8.25 %) are ``Decimal``;
    ``unit_price`` and ``discount`` (an amount off this line) are integer minor units.
    """

    quantity: Decimal
    unit_price: int
    tax_rate: Decimal
    discount: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LineTotals:
    """The computed figures of one line, all integer minor units.

    ``subtotal`` is quantity x unit price (rounded); ``discount`` the line's own discount;
    ``document_discount`` this line's share of the document discount; ``taxable`` what tax
    is charged on; ``total`` = ``taxable + tax``.
    """

    subtotal: int
    discount: int
    document_discount: int
    taxable: int
    tax: int
    total: int

    @property
    def amount(self) -> int:
        """The line before tax and before the document discount: ``subtotal - discount``."""
        return self.subtotal - self.discount


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentTotals:
    """The computed figures of a document, all integer minor units, plus its lines.

    ``subtotal`` is the sum of line subtotals; ``discount_total`` the line discounts plus
    the document discount; ``total = subtotal - discount_total + tax_total``.
    """

    currency: str
    lines: tuple[LineTotals, ...]
    subtotal: int
    line_discount_total: int
    document_discount: int
    discount_total: int
    tax_total: int
    total: int


def normalize_currency(currency: str) -> str:
    """Return the upper-case ISO 4217 code for ``currency`` (``"usd"`` -> ``"USD"``).

    Raises ``InvalidCurrency`` for anything that is not a known 3-letter code.
    """
    if not isinstance(currency, str) or not _CURRENCY_RE.fullmatch(currency):
        raise InvalidCurrency(
            f"Currency must be a 3-letter ISO 4217 code, got {currency!r}.",
            field="currency",
        )
    code = currency.upper()
    if pycountry.currencies.get(alpha_3=code) is None:
        raise InvalidCurrency(f"Unknown ISO 4217 currency {code!r}.", field="currency")
    return code


def minor_unit_exponent(currency: str) -> int:
    """Number of decimal places of ``currency``'s minor unit (JPY 0, USD 2, KWD 3).

    Raises ``InvalidCurrency`` for an unknown code.
    """
    code = normalize_currency(currency)
    if code in _EXPONENT_0:
        return 0
    if code in _EXPONENT_3:
        return 3
    if code in _EXPONENT_4:
        return 4
    return 2


def format_money(amount: int, currency: str, *, use_symbol: bool = True) -> str:
    """Format integer minor units for people: ``format_money(123456, "usd") == "$1,234.56"``.

    Currencies with an unambiguous symbol (USD, EUR, GBP, JPY) get it as a prefix unless
    ``use_symbol`` is false; all others are written ``"1,234.560 KWD"``. Negative amounts
    get a leading minus sign (``"-$5.00"``).
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amount must be an int of minor units, got {type(amount).__name__}")
    code = normalize_currency(currency)
    exponent = minor_unit_exponent(code)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 10**exponent)
    number = f"{major:,}"
    if exponent:
        number += f".{minor:0{exponent}d}"
    symbol = _SYMBOLS.get(code) if use_symbol else None
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {code}"


def compute_totals(
    *,
    lines: Sequence[LineInput],
    currency: str,
    document_discount: int = 0,
) -> DocumentTotals:
    """Compute line and document totals; the only function that does document money.

    ``document_discount`` (integer minor units) is applied before tax, shared over the
    lines pro rata to each line's amount after its own discount. Raises
    ``InvalidLineItem``, ``InvalidDiscount`` or ``InvalidCurrency`` (all ``ValueError``
    subclasses with a ``code``) for input that cannot be totalled.
    """
    code = normalize_currency(currency)
    _check_amount(document_discount, "document_discount", InvalidDiscount)

    with localcontext(_CONTEXT):
        amounts: list[int] = []
        for index, line in enumerate(lines):
            _validate_line(line, index)
            subtotal = _round_half_up(line.quantity * line.unit_price)
            if subtotal > MAX_AMOUNT:
                raise InvalidLineItem(
                    "quantity x unit price is too large.",
                    line_index=index,
                    field="quantity",
                )
            if line.discount > subtotal:
                raise InvalidLineItem(
                    f"discount {line.discount} exceeds the line subtotal {subtotal}.",
                    line_index=index,
                    field="discount",
                )
            amounts.append(subtotal)

        nets = [amount - line.discount for amount, line in zip(amounts, lines, strict=True)]
        shares = _allocate(document_discount, nets)

        results: list[LineTotals] = []
        for line, subtotal, net, share in zip(lines, amounts, nets, shares, strict=True):
            taxable = net - share
            # scaleb(-2) turns a percentage into a fraction exactly (no division).
            tax = _round_half_up(taxable * line.tax_rate.scaleb(-2))
            results.append(
                LineTotals(
                    subtotal=subtotal,
                    discount=line.discount,
                    document_discount=share,
                    taxable=taxable,
                    tax=tax,
                    total=taxable + tax,
                )
            )

    subtotal_sum = sum(r.subtotal for r in results)
    line_discounts = sum(r.discount for r in results)
    tax_total = sum(r.tax for r in results)
    discount_total = line_discounts + document_discount
    return DocumentTotals(
        currency=code,
        lines=tuple(results),
        subtotal=subtotal_sum,
        line_discount_total=line_discounts,
        document_discount=document_discount,
        discount_total=discount_total,
        tax_total=tax_total,
        total=subtotal_sum - discount_total + tax_total,
    )


def _round_half_up(value: Decimal) -> int:
    return int(value.quantize(_ONE, rounding=ROUND_HALF_UP))


def _allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split ``amount`` over ``weights`` pro rata; parts sum to ``amount`` exactly.

    Largest-remainder method in integer arithmetic; ties go to the earlier line so the
    result is deterministic. No part exceeds its weight when ``amount <= sum(weights)``.
    """
    if amount == 0:
        return [0] * len(weights)
    base = sum(weights)
    if amount > base:
        raise InvalidDiscount(
            f"Document discount {amount} exceeds the amount it discounts ({base}).",
            field="document_discount",
        )
    parts = [amount * weight // base for weight in weights]
    remainders = [amount * weight % base for weight in weights]
    leftover = amount - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for index in by_remainder[:leftover]:
        parts[index] += 1
    return parts


def _check_amount(value: object, field: str, error: type[MoneyError]) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"{field} must be an integer amount of minor units.", field=field)
    if value < 0:
        raise error(f"{field} must not be negative.", field=field)
    if value > MAX_AMOUNT:
        raise error(f"{field} is too large.", field=field)


def _validate_line(line: LineInput, index: int) -> None:
    if not isinstance(line, LineInput):
        raise InvalidLineItem("not a line item.", line_index=index, field="line")
    _check_decimal(line.quantity, index, "quantity", _MAX_QUANTITY_DIGITS)
    _check_decimal(line.tax_rate, index, "tax_rate", _MAX_TAX_RATE_DIGITS)
    for field in ("unit_price", "discount"):
        value = getattr(line, field)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidLineItem(
                "must be an integer amount of minor units.",
                line_index=index,
                field=field,
            )
        if value < 0:
            raise InvalidLineItem(f"{field} must not be negative.", line_index=index, field=field)
        if value > MAX_AMOUNT:
            raise InvalidLineItem(f"{field} is too large.", line_index=index, field=field)


def _check_decimal(value: object, index: int, field: str, max_digits: int) -> None:
    # A float here would already carry binary rounding error (0.1 != 1/10): refuse it
    # instead of guessing which decimal was meant.
    if not isinstance(value, Decimal):
        raise InvalidLineItem(
            f"{field} must be a Decimal, got {type(value).__name__}.",
            line_index=index,
            field=field,
        )
    if not value.is_finite():
        raise InvalidLineItem(f"{field} must be a finite number.", line_index=index, field=field)
    if value < 0:
        raise InvalidLineItem(f"{field} must not be negative.", line_index=index, field=field)
    sign_digits_exponent = value.as_tuple()
    digits = len(sign_digits_exponent.digits) + max(int(sign_digits_exponent.exponent), 0)
    if digits > max_digits:
        raise InvalidLineItem(f"{field} has too many digits.", line_index=index, field=field)
