from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from programme.templatetags.vn import format_money, format_money_short, format_number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1.000"),
        (1234567, "1.234.567"),
        (Decimal("22500000000"), "22.500.000.000"),
        (-1500000, "-1.500.000"),
    ],
)
def test_whole_numbers_use_dots_between_thousands(value, expected):
    assert format_number(value) == expected


def test_decimals_use_a_comma():
    assert format_number(Decimal("4.52"), 2) == "4,52"
    assert format_number(Decimal("4.50"), 2) == "4,5"


def test_money_is_whole_dong():
    assert format_money(22500000000) == "22.500.000.000 đ"


def test_not_a_number_renders_empty():
    assert format_number("abc") == ""
    assert format_money(None) == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (22500000000, "22,5 tỷ đồng"),
        (50000000000, "50 tỷ đồng"),
        (1500000, "1,5 triệu đồng"),
        (500000, "500.000 đồng"),
    ],
)
def test_summaries_use_the_short_vietnamese_form(value, expected):
    with translation.override("vi"):
        assert format_money_short(value) == expected


def test_filters_work_in_templates():
    template = Template("{% load vn %}{{ amount|vnd }} / {{ amount|vnd_short }}")
    with translation.override("vi"):
        rendered = template.render(Context({"amount": 22500000000}))
    assert rendered == "22.500.000.000 đ / 22,5 tỷ đồng"


def test_django_number_format_is_vietnamese_in_vietnamese(settings):
    template = Template("{% load humanize %}{{ n|intcomma }}")
    with translation.override("vi"):
        assert template.render(Context({"n": 1234567})) == "1.234.567"
