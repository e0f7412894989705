"""Cell values as offices type them: 1.500.000 đ, 1,5 triệu, 22,5 tỷ, 25/11/2026, 5/3/21."""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.utils.translation import gettext as _

from communes.text import fold


class CellError(ValueError):
    """A value that cannot be read; the message is shown beside the row and column."""


def text(raw) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return " ".join(str(raw).split())


def is_blank(raw) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


# --- Dates --------------------------------------------------------------------------------------

_DATE = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{2}|\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(raw) -> date | None:
    """25/11/2026, 5/3/21, 25-11-2026, 2026-11-25, a real Excel date or an Excel serial number."""
    if is_blank(raw):
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        # A date cell formatted as a number: days since 1899-12-30 (Excel's own calendar).
        if 20000 <= raw <= 80000 and float(raw).is_integer():
            return _EXCEL_EPOCH + timedelta(days=int(raw))
        raise CellError(_("“%(value)s” is not a date. Type it as dd/mm/yyyy.") % {"value": raw})
    value = str(raw).strip()
    # A date-time typed as text: keep the day.
    value = value.split(" ")[0] if re.fullmatch(r"\S+ \d{1,2}:\d{2}(:\d{2})?", value) else value
    match = _DATE.fullmatch(value)
    try:
        if match:
            day, month, year = (int(part) for part in match.groups())
            if len(match.group(3)) == 2:
                year += 2000
            return date(year, month, day)
        match = _ISO.fullmatch(value)
        if match:
            year, month, day = (int(part) for part in match.groups())
            return date(year, month, day)
    except ValueError:
        raise CellError(
            _("“%(value)s” is not a real date. Type it as dd/mm/yyyy.") % {"value": value}
        ) from None
    raise CellError(_("“%(value)s” is not a date. Type it as dd/mm/yyyy.") % {"value": value})


# --- Amounts ------------------------------------------------------------------------------------

_MULTIPLIERS = {
    "ty": 10**9,
    "ti": 10**9,
    "trieu": 10**6,
    "tr": 10**6,
    "nghin": 10**3,
    "ngan": 10**3,
    "k": 10**3,
    "dong": 1,
    "d": 1,
    "vnd": 1,
    "": 1,
}
_AMOUNT = re.compile(r"(?P<number>[\d.,]+)\s*(?P<unit>[a-z]*)\.?")


class _Fraction(ValueError):
    pass


def _number(text_value: str, *, with_multiplier: bool) -> Decimal:
    """Dots group thousands (1.500.000); a single comma, or a dot before a multiplier, is decimal."""
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", text_value):
        return Decimal(text_value.replace(".", ""))
    if re.fullmatch(r"\d{1,3}(,\d{3})+", text_value) and not with_multiplier:
        return Decimal(text_value.replace(",", ""))  # 1,500,000 as typed in English Excel
    if re.fullmatch(r"\d{1,3}(\.\d{3})+,\d+", text_value):
        return Decimal(text_value.replace(".", "").replace(",", "."))  # 1.234,5
    if re.fullmatch(r"\d+([.,]\d+)?", text_value):
        if not with_multiplier and re.fullmatch(r"\d+[.,]\d+", text_value):
            raise _Fraction(text_value)
        return Decimal(text_value.replace(",", "."))
    raise ValueError(text_value)


def parse_amount(raw, *, max_value: int = 10**15) -> int | None:
    """Whole đồng from 1.500.000 / 1.500.000 đ / 1,5 triệu / 22,5 tỷ / 1500000 / a number cell."""
    if is_blank(raw):
        return None
    bad = _("“%(value)s” is not an amount in đồng. Type e.g. 1.500.000 or 1,5 triệu.")
    if isinstance(raw, bool):
        raise CellError(bad % {"value": raw})
    if isinstance(raw, int | float | Decimal):
        amount = Decimal(str(raw))
    else:
        folded = fold(str(raw)).replace(" ", "")
        match = _AMOUNT.fullmatch(folded)
        if not match or match.group("unit") not in _MULTIPLIERS:
            raise CellError(bad % {"value": raw})
        multiplier = _MULTIPLIERS[match.group("unit")]
        try:
            amount = _number(match.group("number"), with_multiplier=multiplier > 1) * multiplier
        except _Fraction:
            raise CellError(
                _("“%(value)s” is not a whole number of đồng.") % {"value": raw}
            ) from None
        except (ValueError, InvalidOperation):
            raise CellError(bad % {"value": raw}) from None
    if amount != amount.to_integral_value():
        raise CellError(
            _("“%(value)s” is not a whole number of đồng.") % {"value": raw},
        )
    if amount <= 0:
        raise CellError(_("The amount must be more than 0 đồng."))
    if amount > max_value:
        raise CellError(_("“%(value)s” is too large for an amount.") % {"value": raw})
    return int(amount)


def parse_decimal(raw, *, places: int = 2) -> Decimal | None:
    """A quantity: 12, 12,5 or 1.250 (thousands) as typed; at most `places` decimals."""
    if is_blank(raw):
        return None
    bad = _("“%(value)s” is not a number.")
    if isinstance(raw, bool):
        raise CellError(bad % {"value": raw})
    if isinstance(raw, int | float | Decimal):
        value = Decimal(str(raw))
    else:
        cleaned = str(raw).strip().replace(" ", "")
        if re.fullmatch(r"\d{1,3}(\.\d{3})+", cleaned):
            cleaned = cleaned.replace(".", "")
        elif re.fullmatch(r"\d{1,3}(\.\d{3})+,\d+", cleaned):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", ".")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise CellError(bad % {"value": raw}) from None
    if not value.is_finite() or value < 0:
        raise CellError(bad % {"value": raw})
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise CellError(
            _("“%(value)s” has more than %(places)s decimals.") % {"value": raw, "places": places}
        )
    if value >= 10**12:
        raise CellError(_("“%(value)s” is too large.") % {"value": raw})
    return value


def parse_count(raw) -> int | None:
    value = parse_decimal(raw, places=0)
    if value is None:
        return None
    if value > 2_000_000_000:
        raise CellError(_("“%(value)s” is too large.") % {"value": raw})
    return int(value)


# --- Choices ------------------------------------------------------------------------------------


_NOT_KEY = re.compile(r"[^a-z0-9]")


@lru_cache(maxsize=4096, typed=True)
def _key(raw) -> str:
    return _NOT_KEY.sub("", fold(text(raw)))


def key(raw) -> str:
    """Compare labels without regard to case, diacritics, spacing or punctuation.

    Remembered: an import compares the same commune, contributor and choice names on every one
    of its rows."""
    try:
        return _key(raw)
    except TypeError:  # not hashable
        return _NOT_KEY.sub("", fold(text(raw)))
