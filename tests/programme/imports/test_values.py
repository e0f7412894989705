"""Cell values as offices type them."""

import datetime
from decimal import Decimal

import pytest

from programme.imports.values import CellError, parse_amount, parse_date, parse_decimal


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("25/11/2026", datetime.date(2026, 11, 25)),
        ("5/3/21", datetime.date(2021, 3, 5)),
        ("05-03-2021", datetime.date(2021, 3, 5)),
        ("5.3.2021", datetime.date(2021, 3, 5)),
        ("2021-03-05", datetime.date(2021, 3, 5)),
        (" 25/11/2026 ", datetime.date(2026, 11, 25)),
        ("25/11/2026 08:30", datetime.date(2026, 11, 25)),
        (datetime.datetime(2024, 3, 6, 0, 0), datetime.date(2024, 3, 6)),
        (datetime.date(2024, 3, 6), datetime.date(2024, 3, 6)),
        (45357, datetime.date(2024, 3, 6)),  # an Excel serial number
        (None, None),
        ("", None),
    ],
)
def test_dates(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["31/02/2024", "13/13/2024", "tháng 3", "2024", 12.5, "25/11"])
def test_bad_dates_say_how_to_type_them(raw):
    with pytest.raises(CellError, match="dd/mm/yyyy"):
        parse_date(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.500.000", 1_500_000),
        ("1.500.000 đ", 1_500_000),
        ("1.500.000đ", 1_500_000),
        ("1.500.000 đồng", 1_500_000),
        ("1.500.000 VNĐ", 1_500_000),
        ("1500000", 1_500_000),
        ("1,500,000", 1_500_000),
        ("1,5 triệu", 1_500_000),
        ("1,5 Triệu đồng", None),  # "triệu đồng" is not one unit: refused below
        ("2 triệu", 2_000_000),
        ("1.5 tr", 1_500_000),
        ("22,5 tỷ", 22_500_000_000),
        ("22,5 tỉ", 22_500_000_000),
        ("1.200 triệu", 1_200_000_000),
        ("500 nghìn", 500_000),
        ("500k", 500_000),
        (1500000, 1_500_000),
        (1500000.0, 1_500_000),
        (Decimal("2500000"), 2_500_000),
    ],
)
def test_amounts(raw, expected):
    if expected is None:
        with pytest.raises(CellError):
            parse_amount(raw)
    else:
        assert parse_amount(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1,5", "whole number of đồng"),
        (1500000.5, "whole number of đồng"),
        ("1,2345678 triệu", "whole number of đồng"),
        ("mười triệu", "not an amount"),
        ("1.500.000 USD", "not an amount"),
        ("-500000", "not an amount"),
        (0, "more than 0"),
        (-5, "more than 0"),
        (True, "not an amount"),
        ("9.999.999 tỷ", "too large"),
    ],
)
def test_bad_amounts(raw, message):
    with pytest.raises(CellError, match=message):
        parse_amount(raw)


def test_amounts_are_whole_dong_integers():
    value = parse_amount("0,5 triệu")
    assert value == 500_000
    assert isinstance(value, int)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12", Decimal(12)), ("12,5", Decimal("12.5")), ("1.250", Decimal(1250)), (3, Decimal(3))],
)
def test_quantities(raw, expected):
    assert parse_decimal(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "-3", "1,234"])
def test_bad_quantities(raw):
    with pytest.raises(CellError):
        parse_decimal(raw)
