"""Form fields for the way people in the field type: 1.500.000 đ and 25/11/2026."""

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_MONEY_NOISE = re.compile(r"(?i)\s|đồng|đ|vnd")


def parse_money(raw) -> Decimal | None:
    """ "1.500.000", "1500000", "1.500.000 đ" → Decimal(1500000); whole đồng only."""
    if raw in (None, ""):
        return None
    if isinstance(raw, int | Decimal):
        return Decimal(raw)
    text = _MONEY_NOISE.sub("", str(raw))
    if not text:
        return None
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
        text = text.replace(".", "")
    if not re.fullmatch(r"\d+", text):
        raise ValidationError(
            _("Type the amount in whole đồng, e.g. 1.500.000."), code="invalid_money"
        )
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValidationError(_("Type the amount in whole đồng, e.g. 1.500.000.")) from None


class MoneyInput(forms.TextInput):
    def __init__(self, attrs=None):
        super().__init__({"inputmode": "numeric", "autocomplete": "off", **(attrs or {})})

    def format_value(self, value):
        if value in (None, ""):
            return None
        try:
            number = Decimal(value)
        except (InvalidOperation, ValueError, TypeError):
            return str(value)
        if not number.is_finite() or number != number.to_integral_value():
            return str(value)  # "Infinity" or "1,5" typed: shown back as typed, not as 1
        return f"{int(number):,}".replace(",", ".")


class MoneyField(forms.DecimalField):
    widget = MoneyInput

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 0)
        kwargs.pop("localize", None)
        super().__init__(**kwargs)

    def to_python(self, value):
        return parse_money(value)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.pop("step", None)
        attrs.pop("min", None)
        attrs.pop("max", None)
        return attrs


class VnDateInput(forms.DateInput):
    def __init__(self, attrs=None):
        super().__init__(
            attrs={"placeholder": "dd/mm/yyyy", "inputmode": "numeric", **(attrs or {})},
            format="%d/%m/%Y",
        )


class VnDateField(forms.DateField):
    widget = VnDateInput
    input_formats = ["%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d"]
    default_error_messages = {"invalid": _("Type the date as dd/mm/yyyy, e.g. 25/11/2026.")}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by content in the service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.docx,.xlsx"})
        )
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []
