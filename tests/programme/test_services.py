"""Writes of the field work: who may record what, bad input, attachments, conflicts, history."""

import datetime
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from programme import services
from programme.models import (
    MAX_VALUE,
    Attachment,
    Contribution,
    ContributionCategory,
    Difficulty,
    Plan,
    PlanItem,
    Visit,
)
from tests.factories import (
    AssignmentFactory,
    ContributionFactory,
    DifficultyFactory,
    PlanFactory,
    PlanItemFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

DAY = datetime.date(2024, 3, 15)
Status = Difficulty.Status


@pytest.fixture(autouse=True)
def english():
    """Messages are compared in English, whatever the translators do to the catalogue."""
    with translation.override("en"):
        yield


def field_messages(error: pytest.ExceptionInfo, field: str) -> list[str]:
    """The messages on `field`; a rule is worded once, never also as "Constraint … violated"."""
    assert not [message for message in error.value.messages if "Constraint" in message]
    return error.value.message_dict[field]


def files_under(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()]


def record_visit(world, **overrides) -> Visit:
    kwargs = {
        "user": world.liaison_a,
        "commune": world.commune1,
        "agency": world.agency_a,
        "date": DAY,
        "kind": Visit.Kind.SURVEY,
        "summary": "Khảo sát đường liên thôn.",
    }
    return services.visit_record(**{**kwargs, **overrides})


def record_contribution(world, category, **overrides) -> Contribution:
    kwargs = {
        "user": world.liaison_a,
        "date": DAY,
        "commune": world.commune1,
        "agency": world.agency_a,
        "category": category,
        "form": Contribution.Form.CASH,
        "value": 1_500_000,
        "description": "Xi măng làm đường thôn Đông.",
    }
    return services.contribution_record(**{**kwargs, **overrides})


def record_difficulty(world, **overrides) -> Difficulty:
    kwargs = {
        "user": world.liaison_a,
        "commune": world.commune1,
        "raised_on": DAY,
        "area": "ntm",
        "description": "Đường liên thôn xuống cấp.",
    }
    return services.difficulty_record(**{**kwargs, **overrides})


def move(difficulty: Difficulty, user, **fields) -> Difficulty:
    return services.difficulty_update(
        user=user, difficulty=difficulty, expected_version=difficulty.version, **fields
    )


# --- Visits: who may record them ----------------------------------------------------------------


def test_liaison_records_a_visit_to_a_commune_of_their_agency(world):
    visit = record_visit(world)

    visit.refresh_from_db()
    assert (visit.commune, visit.agency, visit.date) == (world.commune1, world.agency_a, DAY)
    assert visit.created_by == world.liaison_a
    assert visit.version == 1


def test_recording_a_visit_writes_history_with_the_user_and_reason(world):
    visit = record_visit(world)

    entry = visit.history.get()
    assert entry.history_type == "+"
    assert entry.history_user == world.liaison_a
    assert entry.history_change_reason == "Recorded"


def test_visit_before_the_agency_was_assigned_is_refused_on_the_commune(world):
    with pytest.raises(ValidationError) as error:
        record_visit(world, date=datetime.date(2016, 3, 1))

    assert field_messages(error, "commune") == [
        "Sở A was not in charge of Xã Gia Hưng on 01/03/2016."
    ]
    assert not Visit.objects.exists()


def test_visit_to_a_commune_of_another_agency_is_refused_on_the_commune(world):
    with pytest.raises(ValidationError) as error:
        record_visit(world, commune=world.commune2)

    assert "was not in charge of Xã Ninh Hòa" in field_messages(error, "commune")[0]
    assert not Visit.objects.exists()


def test_visit_after_the_assignment_ended_is_refused(world):
    world.agency_a.assignments.update(end_date=datetime.date(2020, 12, 31))

    with pytest.raises(ValidationError) as error:
        record_visit(world, date=datetime.date(2021, 1, 4))

    assert "commune" in error.value.message_dict


def test_liaison_cannot_record_a_visit_for_another_agency(world):
    with pytest.raises(PermissionDenied):
        record_visit(world, user=world.liaison_b)

    assert not Visit.objects.exists()


def test_commune_officer_cannot_record_a_visit(world):
    with pytest.raises(PermissionDenied):
        record_visit(world, user=world.officer)


def test_province_staff_records_a_visit_for_any_agency(world):
    visit = record_visit(world, user=world.staff, commune=world.commune2, agency=world.agency_b)

    assert visit.created_by == world.staff


def test_province_staff_cannot_record_a_visit_outside_an_assignment(world):
    with pytest.raises(ValidationError) as error:
        record_visit(world, user=world.staff, commune=world.commune2)

    assert "commune" in error.value.message_dict


# --- Visits: bad input --------------------------------------------------------------------------


def test_visit_dated_in_the_future_is_refused_on_the_date(world):
    tomorrow = timezone.localdate() + timedelta(days=1)

    with pytest.raises(ValidationError) as error:
        record_visit(world, date=tomorrow)

    assert field_messages(error, "date") == ["The date cannot be in the future."]
    assert not Visit.objects.exists()


def test_visit_dated_before_the_programme_is_refused_on_the_date(world):
    with pytest.raises(ValidationError) as error:
        record_visit(world, date=datetime.date(2015, 12, 31))

    assert field_messages(error, "date") == [
        "The date cannot be before the programme started (01/01/2016)."
    ]


def test_programme_start_date_comes_from_the_settings(world, settings):
    settings.PROGRAMME_START_DATE = datetime.date(2020, 1, 1)

    with pytest.raises(ValidationError) as error:
        record_visit(world, date=datetime.date(2019, 6, 1))

    assert field_messages(error, "date") == [
        "The date cannot be before the programme started (01/01/2020)."
    ]


def test_date_error_is_translated_when_vietnamese_is_active(world):
    english = "The date cannot be in the future."
    with translation.override("vi"):
        expected = gettext(english)
        with pytest.raises(ValidationError) as error:
            record_visit(world, date=timezone.localdate() + timedelta(days=1))
        assert field_messages(error, "date") == [expected]


def test_cell_meeting_without_a_village_is_refused_on_the_village(world):
    with pytest.raises(ValidationError) as error:
        record_visit(world, kind=Visit.Kind.CELL_MEETING, village="  ")

    assert field_messages(error, "village") == [
        "Name the village or Party cell whose meeting was attended."
    ]


def test_visit_summary_over_its_length_is_refused_on_the_summary(world):
    with pytest.raises(ValidationError) as error:
        record_visit(world, summary="x" * 8001)

    assert field_messages(error, "summary") == [
        "Ensure this value has at most 8000 characters (it has 8001)."
    ]
    assert not Visit.objects.exists()


def test_visit_village_over_its_length_is_refused_on_the_village(world):
    with pytest.raises(ValidationError) as error:
        record_visit(world, kind=Visit.Kind.CELL_MEETING, village="x" * 121)

    assert field_messages(error, "village") == [
        "Ensure this value has at most 120 characters (it has 121)."
    ]


def test_visit_with_more_than_1000_participants_is_refused(world):
    with pytest.raises(ValidationError) as error:
        record_visit(world, participants_count=1001)

    assert "participants_count" in error.value.message_dict


def test_visit_links_plan_items_of_its_commune(world):
    item = PlanItemFactory(plan__commune=world.commune1)

    visit = record_visit(world, plan_items=[item])

    assert list(visit.plan_items.all()) == [item]


def test_visit_with_a_plan_item_of_another_commune_is_refused_on_the_plan_items(world):
    item = PlanItemFactory(plan__commune=world.commune2)

    with pytest.raises(ValidationError) as error:
        record_visit(world, plan_items=[item])

    assert field_messages(error, "plan_items") == ["A plan item chosen belongs to another commune."]
    assert not Visit.objects.exists()


def test_visit_update_to_a_date_before_the_assignment_is_refused(world):
    visit = record_visit(world)

    with pytest.raises(ValidationError) as error:
        services.visit_update(
            user=world.liaison_a,
            visit=visit,
            expected_version=1,
            date=datetime.date(2016, 5, 31),
        )

    assert "commune" in error.value.message_dict
    assert Visit.objects.get().date == DAY


def test_visit_update_with_a_plan_item_of_another_commune_is_refused(world):
    visit = record_visit(world)
    item = PlanItemFactory(plan__commune=world.commune2)

    with pytest.raises(ValidationError) as error:
        services.visit_update(
            user=world.liaison_a, visit=visit, expected_version=1, plan_items=[item]
        )

    assert "plan_items" in error.value.message_dict
    assert not visit.plan_items.exists()


def test_liaison_cannot_move_a_visit_to_another_agency(world):
    AssignmentFactory(agency=world.agency_b, commune=world.commune1, start_date=DAY, role="co")
    visit = record_visit(world)

    with pytest.raises(PermissionDenied):
        services.visit_update(
            user=world.liaison_a, visit=visit, expected_version=1, agency=world.agency_b
        )

    assert Visit.objects.get().agency == world.agency_a


# --- Attachments --------------------------------------------------------------------------------


def test_attachment_type_comes_from_the_content_not_the_name(world, media_root, upload):
    visit = record_visit(world, files=[upload("bien-ban.pdf", "png")])

    attachment = visit.attachments.get()
    assert attachment.content_type == "image/png"
    assert attachment.original_name == "bien-ban.pdf"
    assert attachment.file.name.endswith(".png")
    assert attachment.uploaded_by == world.liaison_a
    assert len(files_under(media_root)) == 1


@pytest.mark.parametrize(
    ("name", "kind", "mime"),
    [
        ("bien-ban.pdf", "pdf", "application/pdf"),
        ("anh.jpg", "jpeg", "image/jpeg"),
        ("anh.png", "png", "image/png"),
        (
            "bao-cao.docx",
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "bang-ke.xlsx",
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    ],
)
def test_each_allowed_type_is_stored(world, media_root, upload, name, kind, mime):
    visit = record_visit(world, files=[upload(name, kind)])

    assert visit.attachments.get().content_type == mime


def test_text_named_jpg_is_refused_and_nothing_is_left_behind(world, media_root, upload):
    with pytest.raises(ValidationError) as error:
        record_visit(world, files=[upload("anh.jpg", "text")])

    assert error.value.messages == ["anh.jpg is not a PDF, JPEG, PNG, DOCX or XLSX file."]
    assert not Visit.objects.exists()
    assert not Attachment.objects.exists()
    assert files_under(media_root) == []


def test_file_over_10_mb_is_refused_and_nothing_is_left_behind(world, media_root, upload):
    big = upload("anh.png", "png")
    big.file.seek(0, 2)
    big.file.write(b"\x00" * (10 * 1024 * 1024))
    big.size = len(big.file.getvalue())

    with pytest.raises(ValidationError) as error:
        record_visit(world, files=[big])

    assert error.value.messages == ["The file anh.png is larger than 10 MB."]
    assert not Visit.objects.exists()
    assert files_under(media_root) == []


def test_empty_file_is_refused(world, media_root):
    with pytest.raises(ValidationError) as error:
        record_visit(world, files=[SimpleUploadedFile("rong.pdf", b"")])

    assert error.value.messages == ["The file rong.pdf is empty."]


def test_one_bad_file_among_good_ones_stores_none_of_them(world, media_root, upload):
    files = [upload("a.pdf", "pdf"), upload("b.png", "png"), upload("c.jpg", "text")]

    with pytest.raises(ValidationError):
        record_visit(world, files=files)

    assert not Visit.objects.exists()
    assert not Attachment.objects.exists()
    assert files_under(media_root) == []


def test_a_refused_record_stores_none_of_its_files(world, media_root, upload):
    with pytest.raises(ValidationError):
        record_visit(world, summary="", files=[upload("a.pdf", "pdf")])

    assert files_under(media_root) == []


def test_stored_file_name_keeps_nothing_the_user_typed(world, media_root, upload):
    visit = record_visit(world, files=[upload("../../etc/ảnh hiện trường.png", "png")])

    stored = visit.attachments.get().file.name
    assert stored.startswith("attachments/")
    assert ".." not in stored
    assert "hiện" not in stored
    assert files_under(media_root)[0].is_relative_to(media_root)


def test_attachment_add_attaches_to_an_existing_difficulty(world, media_root, upload):
    difficulty = record_difficulty(world)

    services.attachment_add(
        user=world.officer, record=difficulty, files=[upload("bien-ban.pdf", "pdf")]
    )

    attachment = difficulty.attachments.get()
    assert attachment.uploaded_by == world.officer
    assert attachment.record == difficulty


def test_attachment_add_refuses_a_bad_file_and_leaves_nothing(world, media_root, upload):
    difficulty = record_difficulty(world)

    with pytest.raises(ValidationError):
        services.attachment_add(
            user=world.officer, record=difficulty, files=[upload("anh.jpg", "text")]
        )

    assert not Attachment.objects.exists()
    assert files_under(media_root) == []


# --- Difficulties -------------------------------------------------------------------------------


def test_commune_officer_records_a_difficulty_of_their_commune(world):
    difficulty = record_difficulty(world, user=world.officer)

    assert difficulty.status == Status.OPEN
    assert difficulty.created_by == world.officer


def test_liaison_records_a_difficulty_of_an_assigned_commune(world):
    difficulty = record_difficulty(world)

    assert difficulty.commune == world.commune1


def test_liaison_of_another_agency_cannot_record_a_difficulty(world):
    with pytest.raises(ValidationError) as error:
        record_difficulty(world, user=world.liaison_b)

    assert field_messages(error, "commune") == ["You do not work for this commune on 15/03/2024."]
    assert not Difficulty.objects.exists()


def test_enterprise_representative_cannot_record_a_difficulty(world):
    with pytest.raises(ValidationError) as error:
        record_difficulty(world, user=world.rep)

    assert "commune" in error.value.message_dict


def test_difficulty_raised_in_the_future_is_refused_on_raised_on(world):
    with pytest.raises(ValidationError) as error:
        record_difficulty(world, raised_on=timezone.localdate() + timedelta(days=1))

    assert field_messages(error, "raised_on") == ["The date cannot be in the future."]


def test_difficulty_description_over_its_length_is_refused(world):
    with pytest.raises(ValidationError) as error:
        record_difficulty(world, description="x" * 4001)

    assert "description" in error.value.message_dict
    assert not Difficulty.objects.exists()


def test_difficulty_raised_at_a_visit_to_another_commune_is_refused(world):
    visit = VisitFactory(commune=world.commune2, agency=world.agency_b)

    with pytest.raises(ValidationError) as error:
        record_difficulty(world, user=world.staff, visit=visit)

    assert field_messages(error, "visit") == ["That visit was to another commune."]


def test_difficulty_goes_through_its_lifecycle_to_confirmation(world):
    difficulty = record_difficulty(world)

    move(difficulty, world.liaison_a, status=Status.IN_PROGRESS)
    move(difficulty, world.liaison_a, status=Status.ESCALATED)
    move(
        difficulty,
        world.liaison_a,
        status=Status.RESOLVED,
        resolution="Sở GTVT đã cấp kinh phí sửa đường.",
        resolved_on=datetime.date(2024, 6, 1),
    )
    move(difficulty, world.officer, status=Status.CONFIRMED)

    difficulty.refresh_from_db()
    assert difficulty.status == Status.CONFIRMED
    assert difficulty.version == 5
    assert not difficulty.is_open


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (Status.OPEN, Status.CONFIRMED),
        (Status.IN_PROGRESS, Status.CONFIRMED),
        (Status.CONFIRMED, Status.IN_PROGRESS),
        (Status.CONFIRMED, Status.OPEN),
        (Status.IN_PROGRESS, Status.OPEN),
    ],
)
def test_difficulty_refuses_a_move_its_lifecycle_does_not_allow(world, start, target):
    resolved = start in (Status.RESOLVED, Status.CONFIRMED)
    difficulty = DifficultyFactory(
        commune=world.commune1,
        status=start,
        resolution="Đã sửa." if resolved else "",
        resolved_on=datetime.date(2024, 6, 1) if resolved else None,
    )

    with pytest.raises(ValidationError) as error:
        move(difficulty, world.staff, status=target)

    assert field_messages(error, "status") == [
        f"A difficulty cannot go from “{start.label}” to “{target.label}”."
    ]
    assert Difficulty.objects.get().status == start


def test_only_the_commune_confirms_a_resolution(world):
    difficulty = DifficultyFactory(
        commune=world.commune1,
        status=Status.RESOLVED,
        resolution="Đã sửa.",
        resolved_on=datetime.date(2024, 6, 1),
    )

    with pytest.raises(ValidationError) as error:
        move(difficulty, world.liaison_a, status=Status.CONFIRMED)

    assert field_messages(error, "status") == ["Only the commune confirms a resolution."]


def test_province_staff_may_confirm_a_resolution(world):
    difficulty = DifficultyFactory(
        commune=world.commune1,
        status=Status.RESOLVED,
        resolution="Đã sửa.",
        resolved_on=datetime.date(2024, 6, 1),
    )

    move(difficulty, world.staff, status=Status.CONFIRMED)

    assert Difficulty.objects.get().status == Status.CONFIRMED


def test_resolving_needs_the_resolution_and_its_date(world):
    difficulty = record_difficulty(world)

    with pytest.raises(ValidationError) as error:
        move(difficulty, world.liaison_a, status=Status.RESOLVED)

    assert field_messages(error, "resolution") == ["Say how it was resolved."]
    assert field_messages(error, "resolved_on") == ["Give the date it was resolved."]
    assert Difficulty.objects.get().status == Status.OPEN


def test_cannot_be_resolved_needs_a_reason(world):
    difficulty = record_difficulty(world)

    with pytest.raises(ValidationError) as error:
        move(difficulty, world.liaison_a, status=Status.UNRESOLVABLE, unresolvable_reason=" ")

    assert field_messages(error, "unresolvable_reason") == ["Say why it cannot be resolved."]


def test_cannot_be_resolved_with_a_reason_closes_the_difficulty(world):
    difficulty = record_difficulty(world)

    move(
        difficulty,
        world.liaison_a,
        status=Status.UNRESOLVABLE,
        unresolvable_reason="Vượt thẩm quyền của tỉnh.",
    )

    assert not Difficulty.objects.get().is_open


def test_resolved_before_it_was_raised_is_refused(world):
    difficulty = record_difficulty(world)

    with pytest.raises(ValidationError) as error:
        move(
            difficulty,
            world.liaison_a,
            status=Status.RESOLVED,
            resolution="Đã sửa.",
            resolved_on=DAY - timedelta(days=1),
        )

    assert field_messages(error, "resolved_on") == ["It cannot be resolved before it was raised."]


def test_resolved_in_the_future_is_refused_on_resolved_on(world):
    difficulty = record_difficulty(world)

    with pytest.raises(ValidationError) as error:
        move(
            difficulty,
            world.liaison_a,
            status=Status.RESOLVED,
            resolution="Đã sửa.",
            resolved_on=timezone.localdate() + timedelta(days=1),
        )

    assert field_messages(error, "resolved_on") == ["The date cannot be in the future."]


def test_resolved_difficulty_may_be_reopened(world):
    difficulty = record_difficulty(world)
    move(
        difficulty,
        world.liaison_a,
        status=Status.RESOLVED,
        resolution="Đã sửa.",
        resolved_on=DAY,
    )

    move(difficulty, world.officer, status=Status.IN_PROGRESS)

    assert Difficulty.objects.get().is_open


def test_age_days_counts_from_raised_to_today_while_open(world):
    difficulty = DifficultyFactory(
        commune=world.commune1, raised_on=timezone.localdate() - timedelta(days=40)
    )

    assert difficulty.age_days == 40


def test_age_days_stops_when_the_difficulty_was_resolved(world):
    difficulty = DifficultyFactory(
        commune=world.commune1,
        raised_on=datetime.date(2024, 1, 1),
        status=Status.RESOLVED,
        resolution="Đã sửa.",
        resolved_on=datetime.date(2024, 1, 31),
    )

    assert difficulty.age_days == 30


def test_age_days_runs_again_when_a_difficulty_is_reopened(world):
    raised = timezone.localdate() - timedelta(days=10)
    difficulty = DifficultyFactory(
        commune=world.commune1,
        raised_on=raised,
        status=Status.IN_PROGRESS,
        resolution="Tưởng đã xong.",
        resolved_on=raised + timedelta(days=2),
    )

    assert difficulty.age_days == 10


# --- Contributions: who may record them ---------------------------------------------------------


def test_liaison_records_a_contribution_of_their_agency(world, roads):
    contribution = record_contribution(world, roads)

    contribution.refresh_from_db()
    assert contribution.value == 1_500_000
    assert contribution.contributor == world.agency_a
    assert contribution.area == "ntm"
    assert contribution.created_by == world.liaison_a


def test_enterprise_representative_records_a_contribution_to_a_twinned_commune(world, roads):
    contribution = record_contribution(
        world, roads, user=world.rep, agency=None, enterprise=world.enterprise
    )

    assert contribution.contributor == world.enterprise


def test_enterprise_contribution_to_a_commune_not_twinned_is_refused(world, roads):
    with pytest.raises(ValidationError) as error:
        record_contribution(
            world,
            roads,
            user=world.rep,
            agency=None,
            enterprise=world.enterprise,
            commune=world.commune2,
        )

    assert field_messages(error, "commune") == [
        "Công ty TNHH Xi măng E was not twinned with Xã Ninh Hòa on 15/03/2024."
    ]
    assert not Contribution.objects.exists()


def test_enterprise_contribution_before_the_twinning_is_refused(world, roads):
    with pytest.raises(ValidationError) as error:
        record_contribution(
            world,
            roads,
            user=world.rep,
            agency=None,
            enterprise=world.enterprise,
            date=datetime.date(2016, 5, 31),
        )

    assert "was not twinned with" in field_messages(error, "commune")[0]


def test_agency_contribution_to_a_commune_not_assigned_is_refused(world, roads):
    with pytest.raises(ValidationError) as error:
        record_contribution(world, roads, commune=world.commune2)

    assert field_messages(error, "commune") == [
        "Sở A was not in charge of Xã Ninh Hòa on 15/03/2024."
    ]
    assert not Contribution.objects.exists()


def test_enterprise_representative_cannot_record_for_an_agency(world, roads):
    with pytest.raises(PermissionDenied):
        record_contribution(world, roads, user=world.rep)


def test_liaison_cannot_record_for_an_enterprise(world, roads):
    with pytest.raises(PermissionDenied):
        record_contribution(world, roads, agency=None, enterprise=world.enterprise)


def test_commune_officer_cannot_record_a_contribution(world, roads):
    with pytest.raises(PermissionDenied):
        record_contribution(world, roads, user=world.officer)


def test_contribution_needs_exactly_one_contributor(world, roads):
    with pytest.raises(ValidationError) as error:
        record_contribution(world, roads, user=world.staff, enterprise=world.enterprise)

    assert error.value.message_dict["__all__"] == [
        "A contribution comes from exactly one contributor: an agency or an enterprise."
    ]


def test_contribution_with_no_contributor_is_refused(world, roads):
    with pytest.raises(ValidationError) as error:
        record_contribution(world, roads, user=world.staff, agency=None)

    assert "__all__" in error.value.message_dict


@pytest.mark.parametrize("which", ["neither", "both"])
def test_database_refuses_anything_but_exactly_one_contributor(world, roads, which):
    with pytest.raises(IntegrityError), transaction.atomic():
        Contribution.objects.create(
            date=DAY,
            commune=world.commune1,
            agency=world.agency_a if which == "both" else None,
            enterprise=world.enterprise if which == "both" else None,
            area="ntm",
            category=roads,
            form="cash",
            value=1,
            description="Bypassing clean().",
        )


@pytest.mark.parametrize("value", [0, MAX_VALUE + 1])
def test_database_refuses_a_value_out_of_range(world, roads, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        ContributionFactory(commune=world.commune1, agency=world.agency_a, value=value)


# --- Contributions: bad input -------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, -1_500_000])
def test_value_of_zero_or_less_is_refused_on_the_value(world, roads, value):
    with pytest.raises(ValidationError) as error:
        record_contribution(world, roads, value=value)

    assert field_messages(error, "value") == ["Ensure this value is greater than or equal to 1."]
    assert not Contribution.objects.exists()


def test_value_over_1000_ty_dong_is_refused_on_the_value(world, roads):
    with pytest.raises(ValidationError) as error:
        record_contribution(world, roads, value=MAX_VALUE + 1)

    assert field_messages(error, "value") == [
        "Ensure this value is less than or equal to 1000000000000."
    ]


def test_value_of_exactly_1000_ty_dong_is_accepted(world, roads):
    contribution = record_contribution(world, roads, value=MAX_VALUE)

    assert Contribution.objects.get(pk=contribution.pk).value == Decimal(10**12)


def test_cash_contribution_without_a_value_is_refused_on_the_value(world, roads):
    with pytest.raises(ValidationError) as error:
        record_contribution(world, roads, value=None)

    assert "value" in error.value.message_dict


def test_contribution_dated_in_the_future_is_refused_on_the_date(world, roads):
    with pytest.raises(ValidationError) as error:
        record_contribution(world, roads, date=timezone.localdate() + timedelta(days=1))

    assert field_messages(error, "date") == ["The date cannot be in the future."]


def test_contribution_dated_before_the_programme_is_refused_on_the_date(world, roads):
    with pytest.raises(ValidationError) as error:
        record_contribution(world, roads, date=datetime.date(2015, 6, 1))

    assert "date" in error.value.message_dict


def test_contribution_with_a_plan_item_of_another_commune_is_refused(world, roads):
    item = PlanItemFactory(plan__commune=world.commune2)

    with pytest.raises(ValidationError) as error:
        record_contribution(world, roads, plan_item=item)

    assert field_messages(error, "plan_item") == ["That plan item belongs to another commune."]
    assert not Contribution.objects.exists()


def test_contribution_delivers_a_plan_item_of_its_commune(world, roads):
    item = PlanItemFactory(plan__commune=world.commune1)

    contribution = record_contribution(world, roads, plan_item=item)

    assert list(item.contributions.all()) == [contribution]


def test_category_of_another_area_is_refused_on_the_category(world, roads):
    with pytest.raises(ValidationError) as error:
        record_contribution(world, roads, area="welfare")

    assert field_messages(error, "category") == [
        "This category belongs to another area of support."
    ]


def test_category_for_any_area_needs_the_area_chosen(world):
    other = ContributionCategory.objects.get(code="other")

    with pytest.raises(ValidationError) as error:
        record_contribution(world, other)

    assert "area" in error.value.message_dict


def test_contribution_description_over_its_length_is_refused(world, roads):
    with pytest.raises(ValidationError) as error:
        record_contribution(world, roads, description="x" * 4001)

    assert field_messages(error, "description") == [
        "Ensure this value has at most 4000 characters (it has 4001)."
    ]
    assert not Contribution.objects.exists()


def test_contribution_unit_over_its_length_is_refused(world, roads):
    with pytest.raises(ValidationError) as error:
        record_contribution(world, roads, form="in_kind", unit="x" * 41)

    assert "unit" in error.value.message_dict


def test_contribution_with_a_bad_file_leaves_no_record_and_no_file(
    world, roads, media_root, upload
):
    with pytest.raises(ValidationError):
        record_contribution(
            world, roads, files=[upload("phieu-thu.pdf", "pdf"), upload("anh.jpg", "text")]
        )

    assert not Contribution.objects.exists()
    assert files_under(media_root) == []


# --- Labour -------------------------------------------------------------------------------------


def test_labour_value_is_workdays_times_daily_rate(world, roads):
    contribution = record_contribution(
        world,
        roads,
        form=Contribution.Form.LABOUR,
        value=1,
        workdays=Decimal("120"),
        daily_rate=Decimal("250000"),
    )

    assert Contribution.objects.get(pk=contribution.pk).value == 30_000_000


def test_labour_value_is_rounded_to_whole_dong(world, roads):
    contribution = record_contribution(
        world,
        roads,
        form=Contribution.Form.LABOUR,
        value=None,
        workdays=Decimal("2.5"),
        daily_rate=Decimal("150001"),
    )

    assert contribution.value == Decimal("375003")


def test_labour_needs_workdays_and_a_daily_rate(world, roads):
    with pytest.raises(ValidationError) as error:
        record_contribution(world, roads, form=Contribution.Form.LABOUR, value=None)

    assert field_messages(error, "workdays") == ["Give the number of workdays."]
    assert field_messages(error, "daily_rate") == ["Give the value of one workday."]


def test_labour_over_1000_ty_dong_is_refused_on_the_value(world, roads):
    with pytest.raises(ValidationError) as error:
        record_contribution(
            world,
            roads,
            form=Contribution.Form.LABOUR,
            workdays=Decimal("1000000"),
            daily_rate=Decimal("1000001"),
        )

    assert "value" in error.value.message_dict


def test_labour_update_recomputes_the_value(world, roads):
    contribution = record_contribution(
        world,
        roads,
        form=Contribution.Form.LABOUR,
        workdays=Decimal("10"),
        daily_rate=Decimal("200000"),
    )

    services.contribution_update(
        user=world.liaison_a,
        contribution=contribution,
        expected_version=1,
        workdays=Decimal("12"),
    )

    assert Contribution.objects.get().value == 2_400_000


# --- Contributions: updates and confirmation ----------------------------------------------------


def test_contribution_update_to_a_commune_not_assigned_is_refused(world, roads):
    contribution = record_contribution(world, roads)

    with pytest.raises(ValidationError) as error:
        services.contribution_update(
            user=world.liaison_a,
            contribution=contribution,
            expected_version=1,
            commune=world.commune2,
        )

    assert "commune" in error.value.message_dict
    assert Contribution.objects.get().commune == world.commune1


def test_commune_confirms_a_contribution_received(world, roads):
    contribution = record_contribution(world, roads)

    services.contribution_confirm(user=world.officer, contribution=contribution, expected_version=1)

    contribution.refresh_from_db()
    assert contribution.confirmed_by == world.officer
    assert contribution.confirmed_at is not None
    entry = contribution.history.latest()
    assert (entry.history_user, entry.history_change_reason) == (
        world.officer,
        "Confirmed by the commune",
    )


def test_changing_a_confirmed_value_clears_the_confirmation(world, roads):
    contribution = record_contribution(world, roads)
    services.contribution_confirm(user=world.officer, contribution=contribution, expected_version=1)

    services.contribution_update(
        user=world.liaison_a, contribution=contribution, expected_version=2, value=2_000_000
    )

    contribution.refresh_from_db()
    assert (contribution.confirmed_by, contribution.confirmed_at) == (None, None)


def test_editing_without_changing_the_value_keeps_the_confirmation(world, roads):
    contribution = record_contribution(world, roads)
    services.contribution_confirm(user=world.officer, contribution=contribution, expected_version=1)

    # A form hands over every field, the unchanged value included.
    services.contribution_update(
        user=world.liaison_a,
        contribution=contribution,
        expected_version=2,
        value=Decimal("1500000"),
        description="Xi măng và cát làm đường thôn Đông.",
    )

    contribution.refresh_from_db()
    assert contribution.confirmed_by == world.officer


def test_changing_labour_workdays_clears_the_confirmation(world, roads):
    contribution = record_contribution(
        world,
        roads,
        form=Contribution.Form.LABOUR,
        workdays=Decimal("10"),
        daily_rate=Decimal("200000"),
    )
    services.contribution_confirm(user=world.officer, contribution=contribution, expected_version=1)

    services.contribution_update(
        user=world.liaison_a,
        contribution=contribution,
        expected_version=2,
        workdays=Decimal("20"),
    )

    contribution.refresh_from_db()
    assert contribution.value == 4_000_000
    assert contribution.confirmed_at is None


def test_representative_cannot_move_a_contribution_to_an_agency(world, roads):
    contribution = record_contribution(
        world, roads, user=world.rep, agency=None, enterprise=world.enterprise
    )

    with pytest.raises(PermissionDenied):
        services.contribution_update(
            user=world.rep,
            contribution=contribution,
            expected_version=1,
            agency=world.agency_a,
            enterprise=None,
        )

    assert Contribution.objects.get().enterprise == world.enterprise


def test_representative_updates_a_contribution_of_their_enterprise(world, roads):
    contribution = record_contribution(
        world, roads, user=world.rep, agency=None, enterprise=world.enterprise
    )

    services.contribution_update(
        user=world.rep, contribution=contribution, expected_version=1, beneficiaries=30
    )

    assert Contribution.objects.get().beneficiaries == 30


# --- Two people editing the same record ---------------------------------------------------------


def test_update_based_on_the_current_version_bumps_it(world):
    visit = record_visit(world)

    services.visit_update(user=world.liaison_a, visit=visit, expected_version=1, summary="Mới.")

    visit.refresh_from_db()
    assert (visit.version, visit.summary) == (2, "Mới.")


def test_second_save_of_a_visit_is_refused_with_the_changed_fields(world):
    record_visit(world)
    first, second = Visit.objects.get(), Visit.objects.get()
    services.visit_update(
        user=world.liaison_a, visit=first, expected_version=1, summary="Bản của người thứ nhất."
    )

    with pytest.raises(services.ConflictError) as error:
        services.visit_update(
            user=world.staff,
            visit=second,
            expected_version=1,
            summary="Bản của người thứ hai.",
            follow_ups="Theo dõi tiếp.",
        )

    changes = {change.field: change for change in error.value.changes}
    assert set(changes) == {"summary"}
    assert changes["summary"].theirs == "Bản của người thứ nhất."
    assert changes["summary"].yours == "Bản của người thứ hai."
    assert changes["summary"].label == "summary"
    assert error.value.current.version == 2


def test_a_refused_second_save_overwrites_nothing(world):
    record_visit(world)
    first, second = Visit.objects.get(), Visit.objects.get()
    services.visit_update(user=world.liaison_a, visit=first, expected_version=1, summary="Một.")

    with pytest.raises(services.ConflictError):
        services.visit_update(
            user=world.staff, visit=second, expected_version=1, summary="Hai.", village="Đông"
        )

    stored = Visit.objects.get()
    assert (stored.summary, stored.village, stored.version) == ("Một.", "", 2)
    assert stored.history.count() == 2


def test_conflict_on_a_contribution_lists_the_value(world, roads):
    record_contribution(world, roads)
    first, second = Contribution.objects.get(), Contribution.objects.get()
    services.contribution_update(
        user=world.liaison_a, contribution=first, expected_version=1, value=2_000_000
    )

    with pytest.raises(services.ConflictError) as error:
        services.contribution_update(
            user=world.staff, contribution=second, expected_version=1, value=3_000_000
        )

    changes = {change.field: change for change in error.value.changes}
    assert set(changes) == {"value"}
    assert (changes["value"].theirs, changes["value"].yours) == ("2000000", "3000000")
    assert Contribution.objects.get().value == 2_000_000


def test_conflict_on_a_difficulty_is_reported_before_its_lifecycle(world):
    record_difficulty(world)
    first, second = Difficulty.objects.get(), Difficulty.objects.get()
    move(first, world.liaison_a, status=Status.RESOLVED, resolution="Xong.", resolved_on=DAY)

    # The second person still sees it open; their move is refused as a conflict, and the
    # difference tells them it was resolved meanwhile.
    with pytest.raises(services.ConflictError) as error:
        services.difficulty_update(
            user=world.officer, difficulty=second, expected_version=1, status=Status.ESCALATED
        )

    changes = {change.field: change for change in error.value.changes}
    assert changes["status"].theirs == "resolved"
    assert Difficulty.objects.get().status == Status.RESOLVED


def test_conflict_on_a_plan_item_lists_the_changed_fields(world):
    item = PlanItemFactory(plan__commune=world.commune1)
    first, second = PlanItem.objects.get(), PlanItem.objects.get()
    services.plan_item_update(
        user=world.officer, item=first, expected_version=item.version, title="Đường trục xã"
    )

    with pytest.raises(services.ConflictError) as error:
        services.plan_item_update(
            user=world.liaison_a, item=second, expected_version=item.version, status="in_progress"
        )

    assert [change.field for change in error.value.changes] == ["title"]
    assert PlanItem.objects.get().status == "planned"


def test_an_update_without_a_version_is_a_programming_error(world):
    visit = record_visit(world)

    with pytest.raises(ValueError):
        services.visit_update(user=world.liaison_a, visit=visit, expected_version=None)


# --- History ------------------------------------------------------------------------------------


def test_update_writes_history_with_the_user_and_the_reason_given(world):
    visit = record_visit(world)

    services.visit_update(
        user=world.staff,
        visit=visit,
        expected_version=1,
        summary="Sửa lỗi chính tả.",
        reason="Correcting a typo",
    )

    entry = visit.history.latest()
    assert entry.history_type == "~"
    assert entry.history_user == world.staff
    assert entry.history_change_reason == "Correcting a typo"
    assert entry.version == 2


def test_update_without_a_reason_is_recorded_as_edited(world, roads):
    contribution = record_contribution(world, roads)

    services.contribution_update(
        user=world.liaison_a, contribution=contribution, expected_version=1, beneficiaries=12
    )

    assert contribution.history.latest().history_change_reason == "Edited"


def test_refused_update_writes_no_history(world):
    visit = record_visit(world)

    with pytest.raises(ValidationError):
        services.visit_update(user=world.liaison_a, visit=visit, expected_version=1, summary="")

    assert visit.history.count() == 1


# --- Plans --------------------------------------------------------------------------------------


def test_commune_officer_drafts_the_plan_of_their_commune(world):
    plan = services.plan_create(user=world.officer, commune=world.commune1, year=2024)

    assert (plan.status, plan.created_by) == (Plan.Status.DRAFT, world.officer)
    assert plan.history.get().history_user == world.officer


def test_second_plan_for_the_same_year_is_refused_on_the_year(world):
    services.plan_create(user=world.officer, commune=world.commune1, year=2024)

    with pytest.raises(ValidationError) as error:
        services.plan_create(user=world.officer, commune=world.commune1, year=2024)

    assert field_messages(error, "year") == ["This commune already has a plan for 2024."]


def test_plan_for_a_commune_outside_the_users_scope_is_refused(world):
    with pytest.raises(ValidationError) as error:
        services.plan_create(user=world.liaison_b, commune=world.commune1, year=2024)

    assert "commune" in error.value.message_dict
    assert not Plan.objects.exists()


def test_liaison_drafts_a_plan_for_a_commune_of_their_agency(world):
    plan = services.plan_create(user=world.liaison_a, commune=world.commune1, year=2025)

    assert plan.commune == world.commune1


def test_agreed_plan_needs_the_date_it_was_agreed(world):
    plan = PlanFactory(commune=world.commune1)

    with pytest.raises(ValidationError) as error:
        services.plan_update(user=world.officer, plan=plan, expected_version=1, status="agreed")

    assert field_messages(error, "agreed_on") == ["An agreed plan needs the date it was agreed."]


def test_plan_agreed_in_the_future_is_refused(world):
    plan = PlanFactory(commune=world.commune1)

    with pytest.raises(ValidationError) as error:
        services.plan_update(
            user=world.officer,
            plan=plan,
            expected_version=1,
            status="agreed",
            agreed_on=timezone.localdate() + timedelta(days=1),
        )

    assert field_messages(error, "agreed_on") == ["The date cannot be in the future."]


def test_plan_item_is_added_to_the_plan(world):
    plan = PlanFactory(commune=world.commune1)

    item = services.plan_item_add(
        user=world.officer,
        plan=plan,
        area="ntm",
        title="Cứng hóa 2 km đường trục thôn",
        period_kind="quarter",
        period_number=2,
        target_value=Decimal("800000000"),
    )

    assert list(plan.items.all()) == [item]
    assert item.created_by == world.officer


def test_plan_item_of_a_quarter_needs_a_quarter_from_1_to_4(world):
    plan = PlanFactory(commune=world.commune1)

    with pytest.raises(ValidationError) as error:
        services.plan_item_add(
            user=world.officer,
            plan=plan,
            area="ntm",
            title="Đường",
            period_kind="quarter",
            period_number=5,
        )

    assert field_messages(error, "period_number") == ["Choose a quarter from 1 to 4."]


def test_plan_item_for_the_whole_year_drops_the_period_number(world):
    plan = PlanFactory(commune=world.commune1)

    item = services.plan_item_add(
        user=world.officer, plan=plan, area="ntm", title="Đường", period_number=3
    )

    assert item.period_number is None


def test_done_plan_item_needs_its_completion_date(world):
    item = PlanItemFactory(plan__commune=world.commune1)

    with pytest.raises(ValidationError) as error:
        services.plan_item_update(user=world.officer, item=item, expected_version=1, status="done")

    assert field_messages(error, "completed_on") == ["A done item needs its completion date."]


def test_plan_item_completed_in_the_future_is_refused(world):
    item = PlanItemFactory(plan__commune=world.commune1)

    with pytest.raises(ValidationError) as error:
        services.plan_item_update(
            user=world.officer,
            item=item,
            expected_version=1,
            status="done",
            completed_on=timezone.localdate() + timedelta(days=1),
        )

    assert field_messages(error, "completed_on") == ["The date cannot be in the future."]


def test_plan_note_over_its_length_is_refused(world):
    with pytest.raises(ValidationError) as error:
        services.plan_create(user=world.officer, commune=world.commune1, year=2024, note="x" * 4001)

    assert "note" in error.value.message_dict


def test_representative_cannot_create_a_plan(world):
    with pytest.raises(ValidationError) as error:
        services.plan_create(user=world.rep, commune=world.commune1, year=2024)

    assert field_messages(error, "commune") == ["You do not work for this commune in 2024."]
    assert not Plan.objects.exists()


def test_plan_item_title_over_its_length_is_refused(world):
    plan = PlanFactory(commune=world.commune1)

    with pytest.raises(ValidationError) as error:
        services.plan_item_add(user=world.officer, plan=plan, area="ntm", title="x" * 256)

    assert "title" in error.value.message_dict
    assert not PlanItem.objects.exists()


def test_plan_item_target_over_1000_ty_dong_is_refused(world):
    plan = PlanFactory(commune=world.commune1)

    with pytest.raises(ValidationError) as error:
        services.plan_item_add(
            user=world.officer, plan=plan, area="ntm", title="Đường", target_value=MAX_VALUE + 1
        )

    assert "target_value" in error.value.message_dict


# --- Assignments that change over time -----------------------------------------------------------


def test_new_agency_records_after_taking_over_a_commune(world):
    world.agency_a.assignments.update(end_date=datetime.date(2020, 12, 31))
    AssignmentFactory(
        agency=world.agency_b, commune=world.commune1, start_date=datetime.date(2021, 1, 1)
    )

    visit = record_visit(
        world, user=world.liaison_b, agency=world.agency_b, date=datetime.date(2021, 3, 1)
    )
    old = record_visit(world, date=datetime.date(2020, 12, 31))

    assert (visit.agency, old.agency) == (world.agency_b, world.agency_a)


@pytest.mark.django_db
def test_a_transaction_that_saves_many_records_wakes_the_worker_once(
    world, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from programme.services import _wake_rollups

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for summary in ("một", "hai", "ba"):
            services.visit_record(
                user=world.liaison_a,
                commune=world.commune1,
                agency=world.agency_a,
                date=timezone.localdate() - datetime.timedelta(days=2),
                kind=Visit.Kind.SURVEY,
                summary=summary,
            )
    assert [c for c in callbacks if c is _wake_rollups] == [_wake_rollups]
