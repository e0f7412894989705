"""Vietnamese number and money formatting: 22.500.000.000 đ, and "22,5 tỷ đồng" in summaries."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils.translation import gettext as _

register = template.Library()


def _group(whole: int) -> str:
    return f"{whole:,}".replace(",", ".")


def format_number(value, decimals: int = 0) -> str:
    """1234567 → "1.234.567"; with decimals, "," before them (4,52)."""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    quantum = Decimal(1).scaleb(-decimals)
    number = number.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    whole, _dot, fraction = f"{abs(number):f}".partition(".")
    text = _group(int(whole))
    if decimals and fraction.strip("0"):
        text += "," + fraction.rstrip("0")
    return sign + text


def format_money(value) -> str:
    """Whole đồng: 22500000000 → "22.500.000.000 đ"."""
    text = format_number(value)
    return f"{text} đ" if text else ""


def format_money_short(value) -> str:
    """A summary figure: 22500000000 → "22,5 tỷ đồng"; 1500000 → "1,5 triệu đồng"."""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    for size, unit in (
        (Decimal(10) ** 9, _("billion đồng")),
        (Decimal(10) ** 6, _("million đồng")),
    ):
        if abs(amount) >= size:
            return f"{format_number(amount / size, 1)} {unit}"
    dong = _("đồng")
    return f"{format_number(amount)} {dong}"


register.filter("vn_number", format_number)
register.filter("vnd", format_money)
register.filter("vnd_short", format_money_short)
