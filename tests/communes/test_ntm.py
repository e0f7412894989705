import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import translation

from communes.models import CriteriaSet, Criterion, CriterionAssessment, NtmLevel, NtmRecognition
from communes.ntm import ntm_criteria_load
from tests.factories import CommuneFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Messages are compared in English, whatever the translators do to the catalogue."""
    with translation.override("en"):
        yield


@pytest.fixture
def criteria():
    ntm_criteria_load()
    return {criteria_set.code: criteria_set for criteria_set in CriteriaSet.objects.all()}


def test_loads_three_sets_with_19_19_and_10_criteria(criteria):
    counts = {code: criteria_set.criteria.count() for code, criteria_set in criteria.items()}
    assert counts == {"2016-2020": 19, "2021-2025": 19, "2026-2030": 10}


def test_only_the_2021_2025_set_has_advanced_levels(criteria):
    assert [code for code, cs in criteria.items() if cs.has_advanced_levels] == ["2021-2025"]


def test_sets_carry_their_legal_reference_and_years(criteria):
    assert "1980/QĐ-TTg" in criteria["2016-2020"].legal_reference
    assert "318/QĐ-TTg" in criteria["2021-2025"].legal_reference
    assert "319/QĐ-TTg" in criteria["2021-2025"].note
    assert "51/2025/QĐ-TTg" in criteria["2026-2030"].legal_reference
    assert (criteria["2026-2030"].first_year, criteria["2026-2030"].last_year) == (2026, 2030)


def test_second_load_changes_nothing(criteria):
    history_before = Criterion.history.count() + CriteriaSet.history.count()

    counts = ntm_criteria_load()

    assert counts["sets_created"] == counts["sets_updated"] == 0
    assert counts["criteria_created"] == counts["criteria_updated"] == 0
    assert counts["sets_unchanged"] == 3
    assert counts["criteria_unchanged"] == 48
    assert Criterion.objects.count() == 48
    assert Criterion.history.count() + CriteriaSet.history.count() == history_before


def test_reload_restores_a_name_edited_by_hand(criteria):
    Criterion.objects.filter(criteria_set__code="2016-2020", number=2).update(name="Đường")

    counts = ntm_criteria_load()

    assert counts["criteria_updated"] == 1
    assert criteria["2016-2020"].criteria.get(number=2).name == "Giao thông"


def test_2016_2020_criteria_are_in_five_groups(criteria):
    groups = list(criteria["2016-2020"].criteria.order_by("number").values_list("group", flat=True))
    assert list(dict.fromkeys(groups)) == [
        "I. Quy hoạch",
        "II. Hạ tầng kinh tế – xã hội",
        "III. Kinh tế và tổ chức sản xuất",
        "IV. Văn hóa – Xã hội – Môi trường",
        "V. Hệ thống chính trị",
    ]
    assert groups.count("II. Hạ tầng kinh tế – xã hội") == 8


def test_2021_2025_names_use_the_bracketed_wording(criteria):
    names = dict(criteria["2021-2025"].criteria.values_list("number", "name"))
    old_names = dict(criteria["2016-2020"].criteria.values_list("number", "name"))
    assert names[3] == "Thủy lợi và phòng, chống thiên tai"
    assert names[11] == "Nghèo đa chiều"
    assert names[12] == "Lao động"
    assert names[13] == "Tổ chức sản xuất và phát triển kinh tế nông thôn"
    assert (old_names[3], old_names[11], old_names[12], old_names[13]) == (
        "Thủy lợi",
        "Hộ nghèo",
        "Lao động có việc làm",
        "Tổ chức sản xuất",
    )
    assert {n for n in names if names[n] != old_names[n]} == {3, 11, 12, 13}


def test_2026_2030_criteria_have_no_group(criteria):
    rows = list(criteria["2026-2030"].criteria.order_by("number").values_list("group", "name"))
    assert {group for group, _name in rows} == {""}
    assert rows[0][1] == "Quy hoạch"
    assert rows[9][1] == "Tiếp cận pháp luật và an ninh, quốc phòng"


def test_command_reports_counts(criteria, capsys):
    call_command("load_ntm_criteria")
    assert "0 created" in capsys.readouterr().out


def test_recognition_refuses_a_year_outside_the_set(criteria):
    recognition = NtmRecognition(
        commune=CommuneFactory(),
        criteria_set=criteria["2016-2020"],
        level=NtmLevel.STANDARD,
        year=2021,
    )
    with pytest.raises(ValidationError) as error:
        recognition.full_clean()
    assert error.value.message_dict["year"] == [
        "The year is outside the period of the criteria set."
    ]


def test_recognition_refuses_an_advanced_level_in_a_set_without_one(criteria):
    recognition = NtmRecognition(
        commune=CommuneFactory(),
        criteria_set=criteria["2016-2020"],
        level=NtmLevel.ADVANCED,
        year=2019,
    )
    with pytest.raises(ValidationError) as error:
        recognition.full_clean()
    assert error.value.message_dict["level"] == [
        "This criteria set has no advanced or model level."
    ]


def test_recognition_accepts_a_model_level_in_2021_2025(criteria):
    recognition = NtmRecognition(
        commune=CommuneFactory(),
        criteria_set=criteria["2021-2025"],
        level=NtmLevel.MODEL,
        year=2024,
    )
    recognition.full_clean()


def test_recognition_refuses_not_met(criteria):
    recognition = NtmRecognition(
        commune=CommuneFactory(),
        criteria_set=criteria["2021-2025"],
        level=NtmLevel.NOT_MET,
        year=2024,
    )
    with pytest.raises(ValidationError) as error:
        recognition.full_clean()
    assert "level" in error.value.message_dict


def test_assessment_refuses_an_advanced_level_in_2026_2030(criteria):
    assessment = CriterionAssessment(
        commune=CommuneFactory(),
        criterion=criteria["2026-2030"].criteria.get(number=1),
        assessed_on="2026-03-01",
        level=NtmLevel.ADVANCED,
    )
    with pytest.raises(ValidationError) as error:
        assessment.full_clean()
    assert error.value.message_dict["level"] == [
        "This criteria set has no advanced or model level."
    ]


def test_assessment_accepts_an_advanced_level_in_2021_2025(criteria):
    assessment = CriterionAssessment(
        commune=CommuneFactory(),
        criterion=criteria["2021-2025"].criteria.get(number=1),
        assessed_on="2023-03-01",
        level=NtmLevel.ADVANCED,
    )
    assessment.full_clean()
