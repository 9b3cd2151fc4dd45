"""Integer base units inside, decimal text at the edges. Pure, no I/O.

DynamoDB numbers hold 38 significant digits, so a larger amount is refused as out of
range, never rounded or truncated.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from chalicelib.errors import InvalidInput, OutOfRange

MAX_DIGITS = 38
MAX_QUANTITY = 10**MAX_DIGITS - 1
# Longest decimal text read at all: 38 digits, a point and more decimals than any asset
# has, with room for zeros; anything longer is refused before int() or Decimal() sees it.
MAX_TEXT = 100
# ASCII digits only: `\d` and int() also take '١٢' or '²'-like digits of other scripts.
_DECIMAL = re.compile(r"^\s*([0-9]+)(?:\.([0-9]*))?\s*$|^\s*\.([0-9]+)\s*$")


def check_quantity(value: int, field: str = "quantity", *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field} must be an integer number of base units", field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput(f"{field} must be positive", field=field)
    if value > MAX_QUANTITY:
        raise OutOfRange(f"{field} has more than {MAX_DIGITS} digits", field=field)
    return value


def parse_integer(value, field: str = "quantity", *, allow_zero: bool = False) -> int:
    """An integer given as a JSON number or a string of ASCII digits (never a boolean)."""
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()):
            raise InvalidInput(f"{field} must be an integer number of base units", field=field)
        if len(text) > MAX_DIGITS:
            raise OutOfRange(f"{field} has more than {MAX_DIGITS} digits", field=field)
        value = int(text)
    elif isinstance(value, float) and value.is_integer() and abs(value) <= MAX_QUANTITY:
        value = int(value)
    return check_quantity(value, field, allow_zero=allow_zero)


def _decimal_text(value, field: str) -> str:
    """A JSON number or string as plain decimal text, bounded in length (no booleans,
    no exponents, no NaN or infinities)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidInput(f"{field} must be a decimal number", field=field)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidInput(f"{field} must be a finite decimal number", field=field)
        if abs(value) >= 10**MAX_DIGITS:
            raise OutOfRange(f"{field} has more than {MAX_DIGITS} digits", field=field)
        # A JSON float keeps its shortest repr ("0.001"), never its binary expansion.
        return format(Decimal(repr(value)), "f")
    if isinstance(value, int) and abs(value) >= 10**MAX_DIGITS:
        raise OutOfRange(f"{field} has more than {MAX_DIGITS} digits", field=field)
    text = str(value)
    if len(text) > MAX_TEXT:
        raise OutOfRange(f"{field} is longer than {MAX_TEXT} characters", field=field)
    return text


def to_base_units(value, decimals: int, field: str = "amount", *, allow_zero: bool = False) -> int:
    """'1.5' with 8 decimals -> 150000000. Refuses more precision than the asset has."""
    text = _decimal_text(value, field)
    match = _DECIMAL.match(text)
    if not match:
        raise InvalidInput(f"{field} must be a non-negative decimal number, got {value!r}", field=field)
    whole = match.group(1) or "0"
    fraction = (match.group(2) if match.group(1) is not None else match.group(3)) or ""
    fraction = fraction.rstrip("0")
    if len(fraction) > decimals:
        raise InvalidInput(f"{field} has more than {decimals} decimal places", field=field)
    if len(whole.lstrip("0")) + decimals > MAX_DIGITS:
        raise OutOfRange(f"{field} has more than {MAX_DIGITS} digits in base units", field=field)
    units = int(whole) * 10**decimals + (int(fraction.ljust(decimals, "0")) if decimals else 0)
    return check_quantity(units, field, allow_zero=allow_zero)


def to_decimal_string(units: int, decimals: int, places: int | None = None) -> str:
    """150000000 with 8 decimals -> '1.50000000' (or padded to `places`)."""
    places = decimals if places is None else places
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**decimals)
    digits = str(fraction).rjust(decimals, "0") if decimals else ""
    text = str(whole) + ("." + digits.ljust(places, "0")[:places] if places else "")
    return sign + text


def to_float(units: int, decimals: int) -> float:
    return float(Fraction(units, 10**decimals))


def parse_rate(value, field: str = "rate", *, allow_zero: bool = True, maximum: Fraction | None = None) -> Fraction:
    """A non-negative decimal rate (fee, exchange rate) as an exact Fraction. Plain decimal
    text only: an exponent such as 1e999999999 would make Fraction build a huge integer."""
    text = _decimal_text(value, field)
    if not _DECIMAL.match(text):
        raise InvalidInput(f"{field} must be a non-negative decimal number, got {value!r}", field=field)
    try:
        rate = Fraction(Decimal(text.strip()))
    except (InvalidOperation, ValueError) as error:
        raise InvalidInput(f"{field} must be a decimal number, got {value!r}", field=field) from error
    if rate < 0 or (rate == 0 and not allow_zero):
        raise InvalidInput(f"{field} must be {'non-negative' if allow_zero else 'positive'}", field=field)
    if maximum is not None and rate > maximum:
        raise InvalidInput(f"{field} must be at most {maximum}", field=field)
    return rate


def fraction_to_decimal_string(value: Fraction, places: int) -> str:
    """Rounds half away from zero to `places` decimals (display only)."""
    scaled = abs(value) * 10**places
    units = (scaled.numerator * 2 + scaled.denominator) // (2 * scaled.denominator)
    return to_decimal_string(-units if value < 0 else units, places)
