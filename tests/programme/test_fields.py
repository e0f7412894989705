"""Form fields for the way people in the field type amounts, dates and attachments."""

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext

from programme.fields import (
    MoneyField,
    MoneyInput,
    MultipleFileField,
    VnDateField,
    parse_money,
)

MONEY_MESSAGE = "Type the amount in whole đồng, e.g. 1.500.000."
DATE_MESSAGE = "Type the date as dd/mm/yyyy, e.g. 25/11/2026."


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


# --- parse_money --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.500.000", 1_500_000),
        ("1500000", 1_500_000),
        ("1.500.000 đ", 1_500_000),
        ("1.500.000đ", 1_500_000),
        ("1.500.000 đồng", 1_500_000),
        ("1.500.000 VND", 1_500_000),
        ("1 500 000", 1_500_000),
        (" 22.500.000.000 ", 22_500_000_000),
        ("1.000", 1_000),
        ("0", 0),
        (1_500_000, 1_500_000),
        (Decimal("1500000"), 1_500_000),
    ],
)
def test_parse_money_reads_whole_dong_as_people_type_them(raw, expected):
    assert parse_money(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", [None, "", "  ", "đ", "đồng"])
def test_parse_money_reads_nothing_as_empty(raw):
    assert parse_money(raw) is None


@pytest.mark.parametrize(
    "raw", ["1,5", "1.5", "1.50", "1.500.00", "1,500,000", "-5", "abc", "1.500.000,50", "1e6"]
)
def test_parse_money_refuses_anything_but_whole_dong(raw):
    with pytest.raises(ValidationError) as error:
        parse_money(raw)

    assert error.value.messages == [MONEY_MESSAGE]


def test_parse_money_message_is_translated_when_vietnamese_is_active():
    with translation.override("vi"):
        expected = gettext(MONEY_MESSAGE)
        with pytest.raises(ValidationError) as error:
            parse_money("1,5")
        assert error.value.messages == [expected]


# --- MoneyField and MoneyInput ------------------------------------------------------------------


def test_money_field_cleans_dotted_thousands():
    assert MoneyField().clean("1.500.000 đ") == Decimal(1_500_000)


def test_money_field_refuses_a_decimal_amount_on_the_field():
    class Form(forms.Form):
        value = MoneyField()

    form = Form(data={"value": "1,5"})

    assert not form.is_valid()
    assert form.errors["value"] == [MONEY_MESSAGE]


def test_money_field_refuses_more_than_18_digits():
    with pytest.raises(ValidationError):
        MoneyField().clean("1" * 19)


def test_money_field_is_required_unless_told_otherwise():
    with pytest.raises(ValidationError):
        MoneyField().clean("")
    assert MoneyField(required=False).clean("") is None


def test_money_field_asks_for_the_numeric_keyboard_without_spin_buttons():
    html = MoneyField().widget.render("value", None)
    attrs = MoneyField().widget_attrs(MoneyInput())

    assert 'inputmode="numeric"' in html
    assert "step" not in attrs and "min" not in attrs


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1500000"), "1.500.000"),
        (22_500_000_000, "22.500.000.000"),
        (0, "0"),
        ("1.500.000", "1.500.000"),
        (None, None),
        ("", None),
    ],
)
def test_money_input_shows_the_amount_with_dotted_thousands(value, shown):
    assert MoneyInput().format_value(value) == shown


# --- VnDateField --------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["25/11/2024", "25/11/24", "2024-11-25"])
def test_date_field_reads_day_month_year(raw):
    assert VnDateField().clean(raw) == datetime.date(2024, 11, 25)


@pytest.mark.parametrize("raw", ["11/25/2024", "31/02/2024", "25-11-2024", "hôm qua"])
def test_date_field_refuses_other_spellings_with_an_example(raw):
    with pytest.raises(ValidationError) as error:
        VnDateField().clean(raw)

    assert error.value.messages == [DATE_MESSAGE]


def test_date_field_shows_a_date_as_day_month_year():
    html = VnDateField().widget.render("date", datetime.date(2024, 3, 5))

    assert 'value="05/03/2024"' in html
    assert 'placeholder="dd/mm/yyyy"' in html


# --- MultipleFileField --------------------------------------------------------------------------


def test_multiple_file_field_returns_every_file_chosen():
    files = [SimpleUploadedFile("a.pdf", b"%PDF-1.4"), SimpleUploadedFile("b.png", b"\x89PNG")]

    assert [f.name for f in MultipleFileField().clean(files)] == ["a.pdf", "b.png"]


def test_multiple_file_field_is_optional_and_empty_by_default():
    assert MultipleFileField().clean(None) == []
    assert MultipleFileField().clean([]) == []


def test_multiple_file_field_wraps_a_single_file_in_a_list():
    upload = SimpleUploadedFile("a.pdf", b"%PDF-1.4")

    assert MultipleFileField().clean(upload) == [upload]


def test_multiple_file_field_takes_every_file_of_a_form_post():
    class Form(forms.Form):
        files = MultipleFileField()

    uploads = [SimpleUploadedFile("a.pdf", b"%PDF-1.4"), SimpleUploadedFile("b.pdf", b"%PDF")]
    form = Form(data={}, files=MultiValueDict({"files": uploads}))

    assert form.is_valid()
    assert len(form.cleaned_data["files"]) == 2


def test_multiple_file_field_offers_only_the_accepted_types():
    html = MultipleFileField().widget.render("files", None)

    assert "multiple" in html
    assert 'accept=".pdf,.jpg,.jpeg,.png,.docx,.xlsx"' in html
