"""Pages of the field work: who may see and change what, forms, conflicts, query counts, lists.

The small world comes from tests/programme/conftest.py: commune 1 is assigned to agency A and
twinned with enterprise E; commune 2 is assigned to agency B. liaison_a is the insider of
commune 1, liaison_b an outsider there, officer works for commune 1, rep for enterprise E.
"""

import datetime
import re
import struct
import zlib
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape, strip_tags

from partners.models import Membership
from partners.services import membership_create
from programme import services
from programme.models import (
    Attachment,
    Contribution,
    ContributionCategory,
    Difficulty,
    Plan,
    Visit,
)
from programme.picker import Picked
from tests.factories import (
    AssignmentFactory,
    CommuneFactory,
    ContributionFactory,
    DesignationFactory,
    DifficultyFactory,
    PlanFactory,
    PlanItemFactory,
    UserFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

DAY = datetime.date(2024, 3, 15)


def _png(width: int = 1, height: int = 1) -> bytes:
    """A real, tiny PNG image (signature, IHDR, IDAT, IEND with their CRCs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\xc8\x10\x2e" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


PNG = _png()


@pytest.fixture(autouse=True)
def english(client):
    """Pages and messages in English, whatever the translators do to the Vietnamese catalogue."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


def login(client, user):
    client.force_login(user)
    return client


def past_day(days: int = 10) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def vn(day: datetime.date) -> str:
    return day.strftime("%d/%m/%Y")


def files_under(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()]


def form_data(form) -> dict:
    """What a browser would post back for an unchanged form."""
    data = {}
    for bound in form:
        value = bound.value()
        if isinstance(value, Picked):  # a picker posts the id and the text shown
            data[bound.html_name] = value.pk
            data[bound.html_name + "_text"] = value.text
            continue
        data[bound.name] = "" if value is None else value
    return data


def field_block(html: str, name: str) -> str:
    """The HTML of one form field's group: from its label to the next group or the button."""
    start = html.index(f'for="id_{name}"')
    ends = [
        i for i in (html.find('<div class="mb-3">', start), html.find("<button", start)) if i != -1
    ]
    return html[start : min(ends)]


def assert_error_beside(response, name: str, fragment: str) -> None:
    """The form names `fragment` among the errors of field `name`, printed in that field's group."""
    errors = response.context["form"].errors.get(name, [])
    assert any(fragment in str(error) for error in errors), errors
    block = field_block(response.content.decode(), name)
    for error in errors:
        assert escape(error) in block


def member(username: str, role: str, **organisation):
    user = UserFactory(username=username)
    membership_create(user=user, role=role, **organisation)
    return user


@pytest.fixture
def records(world, roads):
    """One record of each kind in commune 1, written through the services as in real use."""
    visit = services.visit_record(
        user=world.liaison_a,
        commune=world.commune1,
        agency=world.agency_a,
        date=DAY,
        kind=Visit.Kind.SURVEY,
        summary="Khảo sát đường liên thôn.",
    )
    difficulty = services.difficulty_record(
        user=world.liaison_a,
        commune=world.commune1,
        raised_on=DAY,
        area="ntm",
        description="Đường liên thôn xuống cấp.",
    )
    agency_contribution = services.contribution_record(
        user=world.liaison_a,
        date=DAY,
        commune=world.commune1,
        agency=world.agency_a,
        category=roads,
        form=Contribution.Form.CASH,
        value=1_500_000,
        description="Xi măng làm đường thôn Đông.",
    )
    enterprise_contribution = services.contribution_record(
        user=world.rep,
        date=DAY,
        commune=world.commune1,
        enterprise=world.enterprise,
        category=roads,
        form=Contribution.Form.CASH,
        value=2_000_000,
        description="Đá dăm cho đường thôn Tây.",
    )
    plan = services.plan_create(user=world.officer, commune=world.commune1, year=2024)
    item = services.plan_item_add(
        user=world.officer, plan=plan, area="ntm", title="Bê tông hóa đường thôn Đông"
    )
    return SimpleNamespace(
        visit=visit,
        difficulty=difficulty,
        agency_contribution=agency_contribution,
        enterprise_contribution=enterprise_contribution,
        plan=plan,
        item=item,
    )


# --- Detail pages: insiders 200, outsiders 404 ---------------------------------------------------

DETAIL_CASES = [
    ("programme:visit_detail", "visit", "liaison_a", 200),
    ("programme:visit_detail", "visit", "officer", 200),
    ("programme:visit_detail", "visit", "staff", 200),
    ("programme:visit_detail", "visit", "liaison_b", 404),
    ("programme:visit_detail", "visit", "rep", 404),
    ("programme:difficulty_detail", "difficulty", "liaison_a", 200),
    ("programme:difficulty_detail", "difficulty", "officer", 200),
    ("programme:difficulty_detail", "difficulty", "staff", 200),
    ("programme:difficulty_detail", "difficulty", "liaison_b", 404),
    ("programme:difficulty_detail", "difficulty", "rep", 404),
    ("programme:contribution_detail", "agency_contribution", "liaison_a", 200),
    ("programme:contribution_detail", "agency_contribution", "officer", 200),
    ("programme:contribution_detail", "agency_contribution", "staff", 200),
    ("programme:contribution_detail", "agency_contribution", "liaison_b", 404),
    ("programme:contribution_detail", "agency_contribution", "rep", 404),
    ("programme:contribution_detail", "enterprise_contribution", "rep", 200),
    ("programme:contribution_detail", "enterprise_contribution", "liaison_a", 200),
    ("programme:contribution_detail", "enterprise_contribution", "liaison_b", 404),
    ("programme:plan_detail", "plan", "officer", 200),
    ("programme:plan_detail", "plan", "liaison_a", 200),
    ("programme:plan_detail", "plan", "rep", 200),
    ("programme:plan_detail", "plan", "liaison_b", 404),
]


@pytest.mark.parametrize(("url_name", "record", "who", "status"), DETAIL_CASES)
def test_detail_page_answers_by_scope(client, world, records, url_name, record, who, status):
    obj = getattr(records, record)
    login(client, getattr(world, who))

    response = client.get(reverse(url_name, args=[obj.pk]))

    assert response.status_code == status


@pytest.mark.parametrize(
    "url_name",
    [
        "programme:visit_detail",
        "programme:visit_edit",
        "programme:difficulty_detail",
        "programme:contribution_detail",
        "programme:plan_detail",
        "programme:attachment",
        "programme:commune_detail",
    ],
)
def test_unknown_id_is_404(client, world, url_name):
    login(client, world.staff)

    assert client.get(reverse(url_name, args=[987654321])).status_code == 404


def test_visit_detail_shows_the_record_and_an_edit_link_to_its_agency(client, world, records):
    login(client, world.liaison_a)

    response = client.get(records.visit.get_absolute_url())

    html = response.content.decode()
    assert "Khảo sát đường liên thôn." in html
    assert reverse("programme:visit_edit", args=[records.visit.pk]) in html


def test_visit_detail_hides_the_edit_link_from_the_commune_officer(client, world, records):
    login(client, world.officer)

    response = client.get(records.visit.get_absolute_url())

    assert response.status_code == 200
    assert reverse("programme:visit_edit", args=[records.visit.pk]) not in response.content.decode()


# --- Edit pages: insiders 200, read-only users 403, outsiders 404 ------------------------------

EDIT_CASES = [
    ("programme:visit_edit", "visit", "liaison_a", 200),
    ("programme:visit_edit", "visit", "staff", 200),
    ("programme:visit_edit", "visit", "officer", 403),
    ("programme:visit_edit", "visit", "liaison_b", 404),
    ("programme:visit_edit", "visit", "rep", 404),
    ("programme:difficulty_edit", "difficulty", "liaison_a", 200),
    ("programme:difficulty_edit", "difficulty", "officer", 200),
    ("programme:difficulty_edit", "difficulty", "staff", 200),
    ("programme:difficulty_edit", "difficulty", "liaison_b", 404),
    ("programme:difficulty_edit", "difficulty", "rep", 404),
    ("programme:contribution_edit", "agency_contribution", "liaison_a", 200),
    ("programme:contribution_edit", "agency_contribution", "staff", 200),
    ("programme:contribution_edit", "agency_contribution", "officer", 403),
    ("programme:contribution_edit", "agency_contribution", "liaison_b", 404),
    ("programme:contribution_edit", "agency_contribution", "rep", 404),
    ("programme:contribution_edit", "enterprise_contribution", "rep", 200),
    ("programme:contribution_edit", "enterprise_contribution", "liaison_a", 403),
    ("programme:contribution_edit", "enterprise_contribution", "officer", 403),
    ("programme:contribution_edit", "enterprise_contribution", "liaison_b", 404),
    ("programme:plan_item_edit", "item", "officer", 200),
    ("programme:plan_item_edit", "item", "liaison_a", 200),
    ("programme:plan_item_edit", "item", "staff", 200),
    ("programme:plan_item_edit", "item", "rep", 403),
    ("programme:plan_item_edit", "item", "liaison_b", 404),
]


@pytest.mark.parametrize(("url_name", "record", "who", "status"), EDIT_CASES)
def test_edit_page_answers_by_scope(client, world, records, url_name, record, who, status):
    obj = getattr(records, record)
    login(client, getattr(world, who))

    response = client.get(reverse(url_name, args=[obj.pk]))

    assert response.status_code == status


@pytest.mark.parametrize(
    ("url_name", "record", "who", "status"),
    [case for case in EDIT_CASES if case[3] != 200],
)
def test_edit_post_by_someone_who_may_not_change_saves_nothing(
    client, world, records, url_name, record, who, status
):
    obj = getattr(records, record)
    login(client, world.staff)
    data = form_data(client.get(reverse(url_name, args=[obj.pk])).context["form"])
    text_field = {"item": "title"}.get(record, "description" if record != "visit" else "summary")
    data[text_field] = "Sửa trái phép"
    login(client, getattr(world, who))

    response = client.post(reverse(url_name, args=[obj.pk]), data)

    assert response.status_code == status
    obj.refresh_from_db()
    assert getattr(obj, text_field) != "Sửa trái phép"
    assert obj.version == 1


def test_liaison_saves_an_edited_visit(client, world, records):
    url = reverse("programme:visit_edit", args=[records.visit.pk])
    login(client, world.liaison_a)
    data = form_data(client.get(url).context["form"]) | {
        "summary": "Họp chi bộ thôn Đông.",
        "participants_count": "12",
    }

    response = client.post(url, data)

    assert response.status_code == 302
    assert response["Location"] == records.visit.get_absolute_url()
    records.visit.refresh_from_db()
    assert (records.visit.summary, records.visit.participants_count) == (
        "Họp chi bộ thôn Đông.",
        12,
    )
    assert records.visit.version == 2


def test_commune_officer_updates_a_difficulty_of_their_commune(client, world, records):
    url = reverse("programme:difficulty_edit", args=[records.difficulty.pk])
    login(client, world.officer)
    data = form_data(client.get(url).context["form"]) | {"status": "in_progress"}

    response = client.post(url, data)

    assert response.status_code == 302
    records.difficulty.refresh_from_db()
    assert records.difficulty.status == Difficulty.Status.IN_PROGRESS
    assert records.difficulty.history.first().history_user == world.officer


def test_difficulty_edit_refuses_a_move_the_lifecycle_does_not_allow(client, world, records):
    url = reverse("programme:difficulty_edit", args=[records.difficulty.pk])
    login(client, world.officer)
    data = form_data(client.get(url).context["form"]) | {
        "status": "confirmed",
        "resolution": "Đã sửa đường.",
        "resolved_on": vn(DAY),
    }

    response = client.post(url, data)

    assert response.status_code == 200
    assert response.context["form"].errors["status"]
    records.difficulty.refresh_from_db()
    assert records.difficulty.status == Difficulty.Status.OPEN


def test_liaison_saves_an_edited_contribution_with_a_typed_amount(client, world, records):
    contribution = records.agency_contribution
    url = reverse("programme:contribution_edit", args=[contribution.pk])
    login(client, world.liaison_a)
    data = form_data(client.get(url).context["form"]) | {"value": "2.750.000"}

    response = client.post(url, data)

    assert response.status_code == 302
    contribution.refresh_from_db()
    assert contribution.value == Decimal(2_750_000)
    assert contribution.agency == world.agency_a


def test_enterprise_rep_saves_an_edit_of_their_own_contribution(client, world, records):
    contribution = records.enterprise_contribution
    url = reverse("programme:contribution_edit", args=[contribution.pk])
    login(client, world.rep)
    data = form_data(client.get(url).context["form"]) | {"description": "Đá dăm 20 m³."}

    response = client.post(url, data)

    assert response.status_code == 302
    contribution.refresh_from_db()
    assert contribution.description == "Đá dăm 20 m³."
    assert contribution.enterprise == world.enterprise


def test_province_staff_correct_a_visit_of_a_designated_commune(client, world, records):
    DesignationFactory(commune=world.commune1)
    url = reverse("programme:visit_edit", args=[records.visit.pk])
    login(client, world.staff)
    data = form_data(client.get(url).context["form"]) | {"participants_count": "7"}

    response = client.post(url, data)

    assert response.status_code == 302
    records.visit.refresh_from_db()
    assert records.visit.participants_count == 7
    assert records.visit.history.first().history_user == world.staff


def test_commune_officer_saves_an_edited_plan_item(client, world, records):
    url = reverse("programme:plan_item_edit", args=[records.item.pk])
    login(client, world.officer)
    data = form_data(client.get(url).context["form"]) | {
        "title": "Bê tông hóa 2 km đường thôn Đông",
        "target_value": "300.000.000",
    }

    response = client.post(url, data)

    assert response.status_code == 302
    assert response["Location"] == records.plan.get_absolute_url()
    records.item.refresh_from_db()
    assert records.item.title == "Bê tông hóa 2 km đường thôn Đông"
    assert records.item.target_value == Decimal(300_000_000)


# --- Plan page: adding an item ------------------------------------------------------------------


def plan_item_post(**overrides) -> dict:
    return {
        "area": "economy",
        "title": "Tập huấn kỹ thuật trồng lúa",
        "description": "",
        "period_kind": "quarter",
        "period_number": "2",
        "responsible": "agency",
        "target_text": "",
        "target_value": "",
        "status": "planned",
        "completed_on": "",
        **overrides,
    }


def test_commune_officer_adds_an_item_on_the_plan_page(client, world, records):
    login(client, world.officer)

    response = client.post(records.plan.get_absolute_url(), plan_item_post())

    assert response.status_code == 302
    added = records.plan.items.get(title="Tập huấn kỹ thuật trồng lúa")
    assert (added.period_kind, added.period_number, added.target_value) == ("quarter", 2, 0)


def test_plan_page_refuses_an_item_from_the_twinned_enterprise(client, world, records):
    login(client, world.rep)

    response = client.post(records.plan.get_absolute_url(), plan_item_post())

    assert response.status_code == 403
    assert records.plan.items.count() == 1


def test_plan_page_hides_the_plan_from_an_outsider(client, world, records):
    login(client, world.liaison_b)

    response = client.post(records.plan.get_absolute_url(), plan_item_post())

    assert response.status_code == 404
    assert records.plan.items.count() == 1


def test_plan_page_shows_the_item_error_beside_its_field(client, world, records):
    login(client, world.officer)

    response = client.post(
        records.plan.get_absolute_url(), plan_item_post(period_kind="month", period_number="13")
    )

    assert response.status_code == 200
    assert response.context["form"].errors["period_number"]
    assert records.plan.items.count() == 1


# --- Confirming a contribution ------------------------------------------------------------------


def confirm(client, contribution):
    return client.post(
        reverse("programme:contribution_confirm", args=[contribution.pk]),
        {"version": contribution.version},
    )


def test_commune_officer_confirms_receipt_of_a_contribution(client, world, records):
    contribution = records.agency_contribution
    login(client, world.officer)

    response = confirm(client, contribution)

    assert response.status_code == 302
    assert response["Location"] == contribution.get_absolute_url()
    contribution.refresh_from_db()
    assert contribution.confirmed_at is not None
    assert contribution.confirmed_by == world.officer


def test_liaison_cannot_confirm_their_own_contribution(client, world, records):
    contribution = records.agency_contribution
    login(client, world.liaison_a)

    response = confirm(client, contribution)

    assert response.status_code == 403
    contribution.refresh_from_db()
    assert contribution.confirmed_at is None


def test_enterprise_rep_cannot_confirm_their_own_contribution(client, world, records):
    contribution = records.enterprise_contribution
    login(client, world.rep)

    response = confirm(client, contribution)

    assert response.status_code == 403
    contribution.refresh_from_db()
    assert contribution.confirmed_at is None


def test_outsider_confirming_a_contribution_gets_404(client, world, records):
    contribution = records.agency_contribution
    login(client, world.liaison_b)

    response = confirm(client, contribution)

    assert response.status_code == 404
    contribution.refresh_from_db()
    assert contribution.confirmed_at is None


def test_confirm_refuses_get(client, world, records):
    login(client, world.officer)

    response = client.get(
        reverse("programme:contribution_confirm", args=[records.agency_contribution.pk])
    )

    assert response.status_code == 405


def test_confirm_with_a_stale_version_confirms_nothing(client, world, records):
    contribution = records.agency_contribution
    login(client, world.officer)

    response = client.post(
        reverse("programme:contribution_confirm", args=[contribution.pk]), {"version": 99}
    )

    assert response.status_code == 302
    contribution.refresh_from_db()
    assert contribution.confirmed_at is None


def test_confirming_a_pledge_confirms_nothing_and_says_why(client, world, records):
    contribution = records.agency_contribution
    Contribution.objects.filter(pk=contribution.pk).update(status="pledged")
    login(client, world.officer)

    response = confirm(client, contribution)

    assert response.status_code == 302
    assert response["Location"] == contribution.get_absolute_url()
    contribution.refresh_from_db()
    assert contribution.confirmed_at is None
    page = client.get(contribution.get_absolute_url()).content.decode()
    assert "Only a delivered contribution can be confirmed as received." in page


def test_contribution_page_offers_the_confirm_button_to_the_commune_only(client, world, records):
    url = records.agency_contribution.get_absolute_url()
    confirm_url = reverse("programme:contribution_confirm", args=[records.agency_contribution.pk])

    officer_page = login(client, world.officer).get(url).content.decode()
    liaison_page = login(client, world.liaison_a).get(url).content.decode()

    assert confirm_url in officer_page
    assert confirm_url not in liaison_page


# --- Attachments --------------------------------------------------------------------------------


@pytest.fixture
def photo(world, media_root):
    """A visit with a real PNG photo, stored through the service under MEDIA_ROOT."""
    visit = services.visit_record(
        user=world.liaison_a,
        commune=world.commune1,
        agency=world.agency_a,
        date=DAY,
        kind=Visit.Kind.CELL_MEETING,
        village="Thôn Đông",
        summary="Dự sinh hoạt chi bộ thôn Đông.",
        files=[SimpleUploadedFile("anh-hop.png", PNG, content_type="image/png")],
    )
    return visit.attachments.get()


@pytest.mark.parametrize("who", ["liaison_a", "officer", "staff"])
def test_attachment_download_serves_the_stored_image_inline(client, world, photo, who):
    login(client, getattr(world, who))

    response = client.get(reverse("programme:attachment", args=[photo.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="anh-hop.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG


@pytest.mark.parametrize("who", ["liaison_b", "rep"])
def test_attachment_download_is_404_to_whoever_cannot_see_the_record(client, world, photo, who):
    login(client, getattr(world, who))

    response = client.get(reverse("programme:attachment", args=[photo.pk]))

    assert response.status_code == 404


def test_attachment_download_of_a_document_is_a_download(client, world, roads, media_root, upload):
    contribution = services.contribution_record(
        user=world.rep,
        date=DAY,
        commune=world.commune1,
        enterprise=world.enterprise,
        category=roads,
        form=Contribution.Form.CASH,
        value=5_000_000,
        description="Xi măng.",
        files=[upload("bien-ban.docx", "docx")],
    )
    attachment = contribution.attachments.get()
    login(client, world.rep)

    response = client.get(reverse("programme:attachment", args=[attachment.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert response["Content-Disposition"] == 'attachment; filename="bien-ban.docx"'


def test_visit_page_links_its_attachment(client, world, photo):
    login(client, world.liaison_a)

    html = client.get(photo.visit.get_absolute_url()).content.decode()

    assert reverse("programme:attachment", args=[photo.pk]) in html
    assert "anh-hop.png" in html


# --- Commune page -------------------------------------------------------------------------------


def test_commune_page_lists_the_records_of_the_commune(client, world, records):
    this_year = PlanFactory(commune=world.commune1, year=timezone.localdate().year)
    PlanItemFactory(plan=this_year, title="Lắp đèn chiếu sáng thôn Đông")
    VisitFactory(commune=world.commune2, agency=world.agency_b, summary="Khác xã")
    login(client, world.liaison_a)

    response = client.get(reverse("programme:commune_detail", args=[world.commune1.pk]))

    assert response.status_code == 200
    assert response.context["visits"] == [records.visit]
    assert response.context["difficulties"] == [records.difficulty]
    assert set(response.context["contributions"]) == {
        records.agency_contribution,
        records.enterprise_contribution,
    }
    html = response.content.decode()
    assert records.visit.get_absolute_url() in html
    assert records.difficulty.get_absolute_url() in html
    assert records.agency_contribution.get_absolute_url() in html
    assert "Lắp đèn chiếu sáng thôn Đông" in html
    assert "3.500.000 đ" in html  # the support recorded: 1.500.000 + 2.000.000


def test_commune_page_shows_an_enterprise_only_what_it_may_see(client, world, records):
    login(client, world.rep)

    response = client.get(reverse("programme:commune_detail", args=[world.commune1.pk]))

    assert response.status_code == 200
    assert response.context["visits"] == []
    assert response.context["contributions"] == [records.enterprise_contribution]
    assert records.agency_contribution.get_absolute_url() not in response.content.decode()


@pytest.mark.parametrize("who", ["liaison_b", "officer"])
def test_commune_page_is_404_to_outsiders(client, world, who):
    # The officer works for commune 1: commune 2 is not theirs.
    login(client, getattr(world, who))
    commune = world.commune1 if who == "liaison_b" else world.commune2

    response = client.get(reverse("programme:commune_detail", args=[commune.pk]))

    assert response.status_code == 404


# --- Anonymous users ----------------------------------------------------------------------------

PAGES = {
    "home": lambda r: reverse("home"),
    "commune": lambda r: reverse("programme:commune_detail", args=[r.visit.commune_id]),
    "visit_list": lambda r: reverse("programme:visit_list"),
    "visit_new": lambda r: reverse("programme:visit_new"),
    "visit_detail": lambda r: reverse("programme:visit_detail", args=[r.visit.pk]),
    "visit_edit": lambda r: reverse("programme:visit_edit", args=[r.visit.pk]),
    "difficulty_list": lambda r: reverse("programme:difficulty_list"),
    "difficulty_new": lambda r: reverse("programme:difficulty_new"),
    "difficulty_detail": lambda r: reverse("programme:difficulty_detail", args=[r.difficulty.pk]),
    "difficulty_edit": lambda r: reverse("programme:difficulty_edit", args=[r.difficulty.pk]),
    "contribution_list": lambda r: reverse("programme:contribution_list"),
    "contribution_new": lambda r: reverse("programme:contribution_new"),
    "contribution_detail": lambda r: reverse(
        "programme:contribution_detail", args=[r.agency_contribution.pk]
    ),
    "contribution_edit": lambda r: reverse(
        "programme:contribution_edit", args=[r.agency_contribution.pk]
    ),
    "contribution_confirm": lambda r: reverse(
        "programme:contribution_confirm", args=[r.agency_contribution.pk]
    ),
    "plan_item_list": lambda r: reverse("programme:plan_item_list"),
    "plan_new": lambda r: reverse("programme:plan_new"),
    "plan_detail": lambda r: reverse("programme:plan_detail", args=[r.plan.pk]),
    "plan_item_edit": lambda r: reverse("programme:plan_item_edit", args=[r.item.pk]),
    "export": lambda r: reverse("programme:contribution_list") + "?_export=csv",
}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_user_is_sent_to_login(client, records, page, method):
    url = PAGES[page](records)

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    assert Contribution.objects.filter(confirmed_at__isnull=False).count() == 0


def test_anonymous_user_cannot_download_an_attachment(client, photo):
    response = client.get(reverse("programme:attachment", args=[photo.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- New-record pages: who may open them --------------------------------------------------------


@pytest.mark.parametrize(
    ("url_name", "who", "status"),
    [
        ("programme:visit_new", "liaison_a", 200),
        ("programme:visit_new", "staff", 200),
        ("programme:visit_new", "officer", 403),
        ("programme:visit_new", "rep", 403),
        ("programme:difficulty_new", "liaison_a", 200),
        ("programme:difficulty_new", "officer", 200),
        ("programme:difficulty_new", "staff", 200),
        ("programme:difficulty_new", "rep", 403),
        ("programme:contribution_new", "liaison_a", 200),
        ("programme:contribution_new", "rep", 200),
        ("programme:contribution_new", "staff", 200),
        ("programme:contribution_new", "officer", 403),
        ("programme:plan_new", "officer", 200),
        ("programme:plan_new", "liaison_a", 200),
        ("programme:plan_new", "staff", 200),
        ("programme:plan_new", "rep", 403),
    ],
)
def test_new_record_page_answers_by_role(client, world, url_name, who, status):
    login(client, getattr(world, who))

    response = client.get(reverse(url_name))

    assert response.status_code == status


def test_user_without_any_role_cannot_open_a_new_record_page(client, db):
    login(client, UserFactory(username="khach"))

    assert client.get(reverse("programme:visit_new")).status_code == 403


def test_post_to_a_new_page_the_role_may_not_use_records_nothing(client, world):
    login(client, world.officer)

    response = client.post(reverse("programme:visit_new"), visit_post(world))

    assert response.status_code == 403
    assert Visit.objects.count() == 0


def test_new_difficulty_from_an_outsiders_visit_is_404(client, world):
    visit = VisitFactory(commune=world.commune2, agency=world.agency_b)
    login(client, world.liaison_a)

    response = client.get(reverse("programme:difficulty_new") + f"?visit={visit.pk}")

    assert response.status_code == 404


# --- New visits ---------------------------------------------------------------------------------


def visit_post(world, **overrides) -> dict:
    return {
        "commune": world.commune1.pk,
        "agency": world.agency_a.pk,
        "date": vn(past_day()),
        "kind": "survey",
        "village": "",
        "participants_count": "3",
        "participant_names": "",
        "summary": "Khảo sát mô hình trồng lúa.",
        "follow_ups": "",
        **overrides,
    }


def test_liaison_records_a_visit_with_a_typed_date_and_a_photo(client, world, media_root):
    login(client, world.liaison_a)
    photo = SimpleUploadedFile("hop-chi-bo.png", PNG, content_type="image/png")

    response = client.post(
        reverse("programme:visit_new"),
        visit_post(world, kind="cell_meeting", village="Thôn Đông", files=photo),
    )

    visit = Visit.objects.get()
    assert response.status_code == 302
    assert response["Location"] == visit.get_absolute_url()
    assert (visit.date, visit.village, visit.created_by) == (
        past_day(),
        "Thôn Đông",
        world.liaison_a,
    )
    attachment = visit.attachments.get()
    assert (attachment.original_name, attachment.content_type) == ("hop-chi-bo.png", "image/png")
    assert len(files_under(media_root)) == 1


def test_cell_meeting_without_a_village_is_shown_beside_the_village(client, world, media_root):
    login(client, world.liaison_a)

    response = client.post(
        reverse("programme:visit_new"),
        visit_post(world, kind="cell_meeting", village=" ", files=SimpleUploadedFile("a.png", PNG)),
    )

    assert response.status_code == 200
    assert_error_beside(response, "village", "Name the village or Party cell")
    assert Visit.objects.count() == 0
    assert files_under(media_root) == []


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("01/01/2099", "cannot be in the future"),
        ("31/12/2015", "before the programme started"),
        ("31/02/2024", "Type the date as dd/mm/yyyy"),
    ],
)
def test_visit_with_a_bad_date_is_shown_beside_the_date(client, world, media_root, typed, message):
    login(client, world.liaison_a)

    response = client.post(
        reverse("programme:visit_new"),
        visit_post(world, date=typed, files=SimpleUploadedFile("a.png", PNG)),
    )

    assert response.status_code == 200
    assert_error_beside(response, "date", message)
    assert Visit.objects.count() == 0
    assert files_under(media_root) == []


def test_visit_before_the_agency_was_in_charge_is_refused_beside_the_commune(client, world):
    login(client, world.liaison_a)

    response = client.post(reverse("programme:visit_new"), visit_post(world, date="15/03/2016"))

    assert response.status_code == 200
    assert_error_beside(response, "commune", "was not in charge of")
    assert Visit.objects.count() == 0


def test_visit_form_offers_a_liaison_only_their_agency_and_communes(client, world):
    login(client, world.liaison_a)

    form = client.get(reverse("programme:visit_new")).context["form"]

    assert list(form.fields["commune"].queryset) == [world.commune1]
    assert list(form.fields["agency"].queryset) == [world.agency_a]


def test_visit_for_another_agencys_commune_is_refused(client, world):
    login(client, world.liaison_a)

    response = client.post(
        reverse("programme:visit_new"),
        visit_post(world, commune=world.commune2.pk, agency=world.agency_b.pk),
    )

    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"commune", "agency"}
    assert Visit.objects.count() == 0


# --- New contributions: what people type --------------------------------------------------------


def contribution_post(world, roads, **overrides) -> dict:
    return {
        "date": vn(past_day()),
        "commune": world.commune1.pk,
        "agency": world.agency_a.pk,
        "category": roads.pk,
        "area": "",
        "form": "cash",
        "value": "1.500.000",
        "workdays": "",
        "daily_rate": "",
        "quantity": "",
        "unit": "",
        "beneficiaries": "0",
        "description": "Xi măng làm đường thôn Đông.",
        "status": "delivered",
        "plan_item": "",
        **overrides,
    }


def test_typed_amount_and_date_are_stored_as_whole_dong_and_the_day(client, world, roads):
    login(client, world.liaison_a)

    response = client.post(reverse("programme:contribution_new"), contribution_post(world, roads))

    contribution = Contribution.objects.get()
    assert response.status_code == 302
    assert response["Location"] == contribution.get_absolute_url()
    assert contribution.value == Decimal(1_500_000)
    assert contribution.date == past_day()
    assert (contribution.agency, contribution.enterprise) == (world.agency_a, None)
    assert contribution.area == "ntm"  # taken from the category


def test_enterprise_rep_records_a_contribution_for_their_enterprise(client, world, roads):
    login(client, world.rep)
    data = contribution_post(world, roads, value="2.000.000 đ")
    del data["agency"]

    response = client.post(reverse("programme:contribution_new"), data)

    assert response.status_code == 302
    contribution = Contribution.objects.get()
    assert (contribution.enterprise, contribution.agency) == (world.enterprise, None)
    assert contribution.value == Decimal(2_000_000)


def test_labour_contribution_is_valued_from_workdays_and_rate(client, world, roads):
    login(client, world.liaison_a)

    response = client.post(
        reverse("programme:contribution_new"),
        contribution_post(
            world, roads, form="labour", value="", workdays="20", daily_rate="250.000"
        ),
    )

    assert response.status_code == 302
    assert Contribution.objects.get().value == Decimal(5_000_000)


BAD_CONTRIBUTIONS = [
    pytest.param({"value": "0"}, "value", "greater than or equal to 1", id="zero"),
    pytest.param({"value": "-5"}, "value", "Type the amount in whole đồng", id="negative"),
    pytest.param({"value": "1,5 triệu"}, "value", "Type the amount in whole đồng", id="words"),
    pytest.param(
        {"value": "1.000.000.000.000.001"}, "value", "less than or equal to", id="too-large"
    ),
    pytest.param({"value": ""}, "value", "Give the value in đồng", id="missing-value"),
    pytest.param({"date": "01/01/2099"}, "date", "cannot be in the future", id="future"),
    pytest.param({"date": "31/12/2015"}, "date", "before the programme started", id="before"),
    pytest.param({"date": "2024-13-45"}, "date", "Type the date as dd/mm/yyyy", id="bad-date"),
    pytest.param(
        {"form": "labour", "value": "", "workdays": "", "daily_rate": ""},
        "workdays",
        "Give the number of workdays",
        id="labour-without-workdays",
    ),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_CONTRIBUTIONS)
def test_bad_contribution_input_is_shown_beside_its_field(
    client, world, roads, media_root, overrides, field, message
):
    login(client, world.liaison_a)
    photo = SimpleUploadedFile("bien-nhan.png", PNG, content_type="image/png")

    response = client.post(
        reverse("programme:contribution_new"),
        contribution_post(world, roads, files=photo, **overrides),
    )

    assert response.status_code == 200
    assert_error_beside(response, field, message)
    assert Contribution.objects.count() == 0
    assert Attachment.objects.count() == 0
    assert files_under(media_root) == []


def test_typed_input_is_kept_when_the_form_comes_back(client, world, roads):
    login(client, world.liaison_a)

    response = client.post(
        reverse("programme:contribution_new"),
        contribution_post(world, roads, date="01/01/2099", value="1.500.000"),
    )

    html = response.content.decode()
    assert 'value="01/01/2099"' in field_block(html, "date")
    assert 'value="1.500.000"' in field_block(html, "value")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param(
            "bien-ban.jpg",
            "Biên bản họp.\n".encode() * 20,
            "is not a PDF, JPEG, PNG, DOCX or XLSX file",
            id="text-named-jpg",
        ),
        pytest.param(
            "anh-lon.png",
            PNG + b"\x00" * (11 * 1024 * 1024),
            "is larger than 10 MB",
            id="eleven-megabytes",
        ),
    ],
)
def test_bad_attachment_is_shown_beside_the_files(
    client, world, roads, media_root, name, content, message
):
    login(client, world.liaison_a)

    response = client.post(
        reverse("programme:contribution_new"),
        contribution_post(world, roads, files=SimpleUploadedFile(name, content)),
    )

    assert response.status_code == 200
    assert_error_beside(response, "files", message)
    assert Contribution.objects.count() == 0
    assert Attachment.objects.count() == 0
    assert files_under(media_root) == []


def test_plan_item_of_another_commune_is_shown_beside_the_plan_item(
    client, world, roads, media_root
):
    # Agency A also helps commune 2, so commune 2's items are on offer, but not for commune 1.
    AssignmentFactory(agency=world.agency_a, commune=world.commune2, role="co")
    other = PlanItemFactory(plan=PlanFactory(commune=world.commune2, year=past_day().year))
    login(client, world.liaison_a)

    response = client.post(
        reverse("programme:contribution_new"),
        contribution_post(world, roads, plan_item=other.pk, files=SimpleUploadedFile("a.png", PNG)),
    )

    assert response.status_code == 200
    assert_error_beside(response, "plan_item", "belongs to another commune")
    assert Contribution.objects.count() == 0
    assert files_under(media_root) == []


def test_plan_item_outside_the_users_communes_is_not_a_choice(client, world, roads):
    other = PlanItemFactory(plan=PlanFactory(commune=world.commune2, year=2024))
    login(client, world.liaison_a)

    response = client.post(
        reverse("programme:contribution_new"), contribution_post(world, roads, plan_item=other.pk)
    )

    assert response.status_code == 200
    assert response.context["form"].errors["plan_item"]
    assert Contribution.objects.count() == 0


def test_category_area_wins_over_the_area_chosen(client, world, roads):
    seeds = ContributionCategory.objects.get(code="seed-stock")
    login(client, world.liaison_a)

    response = client.post(
        reverse("programme:contribution_new"),
        contribution_post(world, roads, category=seeds.pk, area="ntm"),
    )

    # The category's own area wins over the one typed: an economy contribution is recorded.
    assert response.status_code == 302
    assert Contribution.objects.get().area == "economy"


# --- New difficulties and plans -----------------------------------------------------------------


def test_commune_officer_records_a_difficulty_of_their_commune(client, world):
    login(client, world.officer)

    response = client.post(
        reverse("programme:difficulty_new"),
        {
            "commune": world.commune1.pk,
            "raised_on": vn(past_day()),
            "visit": "",
            "area": "welfare",
            "description": "Nhiều hộ nghèo chưa có nhà kiên cố.",
            "proposal": "",
            "owner": "province",
        },
    )

    difficulty = Difficulty.objects.get()
    assert response.status_code == 302
    assert (difficulty.commune, difficulty.raised_on, difficulty.status) == (
        world.commune1,
        past_day(),
        Difficulty.Status.OPEN,
    )


def test_difficulty_raised_in_the_future_is_refused(client, world):
    login(client, world.officer)

    response = client.post(
        reverse("programme:difficulty_new"),
        {
            "commune": world.commune1.pk,
            "raised_on": "01/01/2099",
            "visit": "",
            "area": "welfare",
            "description": "Nhiều hộ nghèo chưa có nhà kiên cố.",
            "proposal": "",
            "owner": "province",
        },
    )

    assert response.status_code == 200
    assert_error_beside(response, "raised_on", "cannot be in the future")
    assert Difficulty.objects.count() == 0


def test_commune_officer_starts_the_plan_of_their_commune(client, world):
    login(client, world.officer)

    response = client.post(
        reverse("programme:plan_new"), {"commune": world.commune1.pk, "year": "2025", "note": ""}
    )

    plan = Plan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == plan.get_absolute_url()
    assert (plan.commune, plan.year) == (world.commune1, 2025)


def test_second_plan_for_the_same_year_is_refused_beside_the_year(client, world, records):
    login(client, world.officer)

    response = client.post(
        reverse("programme:plan_new"), {"commune": world.commune1.pk, "year": "2024", "note": ""}
    )

    assert response.status_code == 200
    assert_error_beside(response, "year", "already has a plan for 2024")
    assert Plan.objects.count() == 1


# --- Optimistic locking through the pages -------------------------------------------------------


def test_saving_over_someone_elses_change_is_a_conflict(client, world, records):
    colleague = member("lien_lac_a2", Membership.Role.AGENCY_LIAISON, agency=world.agency_a)
    url = reverse("programme:visit_edit", args=[records.visit.pk])
    stale = form_data(login(client, colleague).get(url).context["form"])
    fresh = form_data(login(client, world.liaison_a).get(url).context["form"])
    assert client.post(url, fresh | {"summary": "Bản của A."}).status_code == 302

    response = login(client, colleague).post(url, stale | {"summary": "Bản của B."})

    assert response.status_code == 409
    conflict = response.context["conflict"]
    assert [change.field for change in conflict.changes] == ["summary"]
    table = response.content.decode().split('id="conflict"', 1)[1].split("</table>", 1)[0]
    assert "summary" in table
    assert "Bản của A." in table
    assert "Bản của B." in table
    records.visit.refresh_from_db()
    assert records.visit.summary == "Bản của A."
    assert records.visit.version == 2


def test_a_stale_difficulty_update_is_a_conflict(client, world, records):
    url = reverse("programme:difficulty_edit", args=[records.difficulty.pk])
    stale = form_data(login(client, world.officer).get(url).context["form"])
    fresh = form_data(login(client, world.liaison_a).get(url).context["form"])
    assert client.post(url, fresh | {"status": "in_progress"}).status_code == 302

    response = login(client, world.officer).post(url, stale | {"proposal": "Xin vốn tỉnh."})

    assert response.status_code == 409
    assert "status" in [change.field for change in response.context["conflict"].changes]
    records.difficulty.refresh_from_db()
    assert (records.difficulty.status, records.difficulty.proposal) == ("in_progress", "")


# --- Query counts: constant whatever the number of rows -----------------------------------------


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def make_visits(world, roads, n):
    VisitFactory.create_batch(n, commune=world.commune1, agency=world.agency_a)


def make_difficulties(world, roads, n):
    DifficultyFactory.create_batch(n, commune=world.commune1)


def make_contributions(world, roads, n):
    for i in range(n):
        if i % 2:
            ContributionFactory(commune=world.commune1, agency=None, enterprise=world.enterprise)
        else:
            ContributionFactory(commune=world.commune1, agency=world.agency_a)


def make_plan_items(world, roads, n):
    plan = Plan.objects.filter(commune=world.commune1, year=2024).first() or PlanFactory(
        commune=world.commune1, year=2024
    )
    PlanItemFactory.create_batch(n, plan=plan)


@pytest.mark.parametrize(
    ("url_name", "make"),
    [
        ("programme:visit_list", make_visits),
        ("programme:difficulty_list", make_difficulties),
        ("programme:contribution_list", make_contributions),
        ("programme:plan_item_list", make_plan_items),
    ],
)
@pytest.mark.parametrize("who", ["liaison_a", "staff"])
def test_list_page_query_count_does_not_grow_with_rows(client, world, roads, url_name, make, who):
    url = reverse(url_name)
    login(client, getattr(world, who))
    make(world, roads, 5)
    client.get(url)  # warm-up: caches that fill once per process
    with_five = count_queries(client, url)

    make(world, roads, 45)
    with_fifty = count_queries(client, url)

    assert with_fifty == with_five


def test_export_query_count_does_not_grow_with_rows(client, world, roads):
    url = reverse("programme:contribution_list") + "?_export=csv"
    login(client, world.staff)
    make_contributions(world, roads, 5)
    client.get(url)
    with_five = count_queries(client, url)

    make_contributions(world, roads, 45)
    with_fifty = count_queries(client, url)

    assert with_fifty == with_five


def make_assigned_communes(world, n, *, designate=False):
    today = timezone.localdate()
    for _ in range(n):
        commune = CommuneFactory()
        AssignmentFactory(agency=world.agency_a, commune=commune)
        if designate:
            DesignationFactory(commune=commune)
        VisitFactory(commune=commune, agency=world.agency_a, date=today, kind="survey")
        DifficultyFactory(commune=commune)
        ContributionFactory(commune=commune, agency=world.agency_a, date=today)
        PlanItemFactory(plan=PlanFactory(commune=commune, year=today.year), period_kind="year")


@pytest.mark.parametrize("who", ["liaison_a", "staff"])
def test_home_query_count_does_not_grow_with_communes(client, world, who):
    login(client, getattr(world, who))
    make_assigned_communes(world, 5, designate=True)
    client.get("/")
    with_five = count_queries(client, "/")

    make_assigned_communes(world, 45, designate=True)
    with_fifty = count_queries(client, "/")

    assert with_fifty == with_five
    assert client.get("/").content.decode().count('href="/communes/') >= 50


def make_commune_records(world, roads, n):
    make_visits(world, roads, n)
    make_difficulties(world, roads, n)
    make_contributions(world, roads, n)
    plan = Plan.objects.filter(
        commune=world.commune1, year=timezone.localdate().year
    ).first() or PlanFactory(commune=world.commune1, year=timezone.localdate().year)
    PlanItemFactory.create_batch(n, plan=plan)


@pytest.mark.parametrize("who", ["liaison_a", "officer", "rep", "staff"])
def test_commune_page_query_count_does_not_grow_with_records(client, world, roads, who):
    url = reverse("programme:commune_detail", args=[world.commune1.pk])
    login(client, getattr(world, who))
    make_commune_records(world, roads, 5)
    client.get(url)
    with_five = count_queries(client, url)

    make_commune_records(world, roads, 45)
    with_fifty = count_queries(client, url)

    assert with_fifty == with_five


@pytest.mark.parametrize(
    ("url_name", "record"),
    [
        ("programme:visit_detail", "visit"),
        ("programme:contribution_detail", "agency_contribution"),
        ("programme:difficulty_detail", "difficulty"),
        ("programme:plan_detail", "plan"),
    ],
)
def test_detail_page_query_count_does_not_grow_with_attachments_or_items(
    client, world, records, media_root, url_name, record
):
    obj = getattr(records, record)
    url = reverse(url_name, args=[obj.pk])
    login(client, world.staff)

    def grow(n):
        for _ in range(n):
            if record == "plan":
                PlanItemFactory(plan=obj)
            else:
                services.attachment_add(
                    user=world.liaison_a, record=obj, files=[SimpleUploadedFile("a.png", PNG)]
                )
            if record == "visit":
                DifficultyFactory(commune=world.commune1, visit=obj)

    grow(2)
    client.get(url)
    with_two = count_queries(client, url)
    grow(8)
    with_ten = count_queries(client, url)

    assert with_ten == with_two


# --- Lists: filters and sorting -----------------------------------------------------------------


@pytest.fixture
def designated(world):
    """Province staff pick from the designated communes."""
    DesignationFactory(commune=world.commune1)
    DesignationFactory(commune=world.commune2)


def listed(client, url_name: str, **params) -> list:
    response = client.get(reverse(url_name), params)
    assert response.status_code == 200
    return [row.record for row in response.context["table"].paginated_rows]


@pytest.fixture
def contributions(world, roads):
    seeds = ContributionCategory.objects.get(code="seed-stock")
    return SimpleNamespace(
        roads_2024=ContributionFactory(
            commune=world.commune1, agency=world.agency_a, value=3_000_000
        ),
        seeds_2023=ContributionFactory(
            commune=world.commune1,
            agency=None,
            enterprise=world.enterprise,
            date=datetime.date(2023, 5, 2),
            area="economy",
            category=seeds,
            value=1_000_000,
            description="Giống lúa chất lượng cao cho thôn Chất Bình.",
            status="pledged",
        ),
        commune2=ContributionFactory(
            commune=world.commune2,
            agency=world.agency_b,
            value=2_000_000,
            description="Bóng đèn chiếu sáng.",
        ),
    )


def test_contribution_list_shows_a_liaison_only_their_scope(client, world, contributions):
    login(client, world.liaison_a)

    rows = listed(client, "programme:contribution_list")

    assert set(rows) == {contributions.roads_2024, contributions.seeds_2023}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"area": "economy"}, ["seeds_2023"]),
        ({"status": "pledged"}, ["seeds_2023"]),
        ({"year": "2023"}, ["seeds_2023"]),
        ({"year": "2024"}, ["roads_2024", "commune2"]),
        ({"form": "cash", "area": "ntm"}, ["roads_2024", "commune2"]),
        ({"date_from": "01/01/2024", "date_to": "31/12/2024"}, ["roads_2024", "commune2"]),
        ({"q": "giong lua"}, ["seeds_2023"]),
        ({"q": "CHAT BINH"}, ["seeds_2023"]),
        ({"q": "bong đen"}, ["commune2"]),
        ({"q": "ninh hoa"}, ["commune2"]),
        # The enterprise's name ("Xi măng E") and a description ("xi măng") both match.
        ({"q": "xi mang"}, ["seeds_2023", "roads_2024"]),
    ],
)
def test_contribution_list_filters(client, world, designated, contributions, params, expected):
    login(client, world.staff)

    rows = listed(client, "programme:contribution_list", **params)

    assert set(rows) == {getattr(contributions, name) for name in expected}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("xi mang", ["seeds_2023", "roads_2024"]),
        ("giong lua", ["seeds_2023"]),
        ("ninh hoa", []),  # commune2's name: its contribution is another agency's
        ("bong đen", []),
    ],
)
def test_the_search_keeps_a_liaison_in_their_scope(client, world, contributions, q, expected):
    """Matches by name are found set by set (programme.filters): still only the user's."""
    login(client, world.liaison_a)

    rows = listed(client, "programme:contribution_list", q=q)

    assert set(rows) == {getattr(contributions, name) for name in expected}


@pytest.mark.parametrize("q", ["giong lua", "CHAT BINH", "bong đen", "ninh hoa", "xi mang", "zzz"])
def test_common_and_rare_words_find_the_same_records(
    client, world, designated, contributions, monkeypatch, q
):
    """A word found more than SEARCH_COMMON times is searched in list order, a rarer one by
    its matching ids (programme.filters): the same records either way."""
    from programme import filters

    login(client, world.staff)
    rare = listed(client, "programme:contribution_list", q=q)
    monkeypatch.setattr(filters, "SEARCH_COMMON", 0)
    common = listed(client, "programme:contribution_list", q=q)

    assert rare == common
    assert (q == "zzz") == (rare == [])


def test_contribution_list_filters_by_commune(client, world, designated, contributions):
    login(client, world.staff)

    rows = listed(client, "programme:contribution_list", commune=world.commune2.pk)

    assert rows == [contributions.commune2]


def test_contribution_list_filters_by_category(client, world, designated, contributions):
    login(client, world.staff)
    seeds = ContributionCategory.objects.get(code="seed-stock")

    rows = listed(client, "programme:contribution_list", category=seeds.pk)

    assert rows == [contributions.seeds_2023]


def test_contribution_list_filters_by_enterprise(client, world, designated, contributions):
    login(client, world.staff)

    rows = listed(client, "programme:contribution_list", enterprise=world.enterprise.pk)

    assert rows == [contributions.seeds_2023]


def test_contribution_list_filters_by_district(client, world, designated, contributions):
    login(client, world.staff)

    rows = listed(client, "programme:contribution_list", district=world.commune2.parent_id)

    assert rows == [contributions.commune2]


def test_commune_filter_outside_the_users_scope_shows_nothing(client, world, contributions):
    login(client, world.liaison_a)

    rows = listed(client, "programme:contribution_list", commune=world.commune2.pk)

    assert rows == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("value", ["seeds_2023", "commune2", "roads_2024"]),
        ("-value", ["roads_2024", "commune2", "seeds_2023"]),
        ("date", ["seeds_2023"]),
    ],
)
def test_contribution_list_sorts_by_a_column(
    client, world, designated, contributions, sort, expected
):
    login(client, world.staff)

    rows = listed(client, "programme:contribution_list", sort=sort)

    assert rows[: len(expected)] == [getattr(contributions, name) for name in expected]


def test_visit_list_filters_by_kind_and_search(client, world):
    cell = VisitFactory(
        commune=world.commune1, agency=world.agency_a, kind="cell_meeting", village="Thôn Đông"
    )
    VisitFactory(commune=world.commune1, agency=world.agency_a, kind="survey")
    login(client, world.liaison_a)

    assert listed(client, "programme:visit_list", kind="cell_meeting") == [cell]
    assert listed(client, "programme:visit_list", q="thon dong") == [cell]


def test_visit_list_sorts_by_commune(client, world, designated):
    in_gia_hung = VisitFactory(commune=world.commune1, agency=world.agency_a)
    in_ninh_hoa = VisitFactory(commune=world.commune2, agency=world.agency_b)
    login(client, world.staff)

    assert listed(client, "programme:visit_list", sort="commune") == [in_gia_hung, in_ninh_hoa]
    assert listed(client, "programme:visit_list", sort="-commune") == [in_ninh_hoa, in_gia_hung]


def test_difficulty_list_filters_by_status_area_and_open(client, world):
    open_one = DifficultyFactory(commune=world.commune1, area="economy")
    resolved = DifficultyFactory(
        commune=world.commune1,
        status="resolved",
        resolution="Đã sửa đường.",
        resolved_on=DAY,
    )
    login(client, world.officer)

    assert listed(client, "programme:difficulty_list", status="resolved") == [resolved]
    assert listed(client, "programme:difficulty_list", area="economy") == [open_one]
    assert listed(client, "programme:difficulty_list", open_only="on") == [open_one]


def test_difficulty_list_sorts_by_age(client, world):
    older = DifficultyFactory(commune=world.commune1, raised_on=datetime.date(2020, 1, 1))
    newer = DifficultyFactory(commune=world.commune1, raised_on=DAY)
    login(client, world.officer)

    assert listed(client, "programme:difficulty_list", sort="age") == [older, newer]
    assert listed(client, "programme:difficulty_list", sort="-age") == [newer, older]


def test_plan_item_list_filters_by_year_area_and_status(client, world):
    item_2024 = PlanItemFactory(plan=PlanFactory(commune=world.commune1, year=2024), area="party")
    item_2025 = PlanItemFactory(
        plan=PlanFactory(commune=world.commune1, year=2025), status="in_progress"
    )
    login(client, world.officer)

    assert listed(client, "programme:plan_item_list", year="2025") == [item_2025]
    assert listed(client, "programme:plan_item_list", area="party") == [item_2024]
    assert listed(client, "programme:plan_item_list", status="in_progress") == [item_2025]
    assert listed(client, "programme:plan_item_list", q="be tong hoa") == [item_2025, item_2024]


def test_plan_item_list_hides_other_communes(client, world):
    PlanItemFactory(plan=PlanFactory(commune=world.commune2, year=2024))
    mine = PlanItemFactory(plan=PlanFactory(commune=world.commune1, year=2024))
    login(client, world.liaison_a)

    assert listed(client, "programme:plan_item_list") == [mine]


def test_list_paginates_without_counting(client, world):
    VisitFactory.create_batch(30, commune=world.commune1, agency=world.agency_a)
    login(client, world.liaison_a)

    first = client.get(reverse("programme:visit_list"))
    # Newest first, the next page is sought after the last row shown; other orders number pages.
    second = client.get(reverse("programme:visit_list") + first.context["seek_nav"]["older"])
    by_village = client.get(
        reverse("programme:visit_list"),
        {"sort": "village", "page": 2, "commune": world.commune1.pk},
    )

    assert len(first.context["table"].rows) == 25
    assert len(second.context["table"].rows) == 5
    assert len(by_village.context["table"].paginated_rows) == 5


# --- Liaison home -------------------------------------------------------------------------------


def home_row(html: str, commune_name: str) -> list[str]:
    """The cells of the home table's row for one commune, as HTML."""
    body = html.split('id="my-communes"', 1)[1].split("</table>", 1)[0]
    for row in body.split("<tr>")[1:]:
        if commune_name in row:
            return re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
    raise AssertionError(f"{commune_name} is not on the home page")


def text(cell: str) -> str:
    return " ".join(strip_tags(cell).split())


def cell_visit(cell: str) -> str:
    """ "done" or "due", from the badge of the Party-cell visit column (green or amber)."""
    if "text-bg-success" in cell:
        assert "due" not in text(cell)
        return "done"
    assert "text-bg-warning" in cell
    assert "due" in text(cell)
    return "due"


def test_liaison_home_lists_their_communes_with_this_months_figures(client, world, roads):
    today = timezone.localdate()
    commune3 = CommuneFactory(name="Khánh Hồng")
    AssignmentFactory(agency=world.agency_a, commune=commune3)
    VisitFactory(
        commune=world.commune1,
        agency=world.agency_a,
        date=today,
        kind="cell_meeting",
        village="Thôn Đông",
    )
    # A survey is not a Party-cell meeting: Khánh Hồng is still due.
    VisitFactory(commune=commune3, agency=world.agency_a, date=today, kind="survey")
    DifficultyFactory.create_batch(2, commune=world.commune1)
    DifficultyFactory(
        commune=world.commune1, status="resolved", resolution="Đã xong.", resolved_on=DAY
    )
    ContributionFactory(commune=world.commune1, agency=world.agency_a, date=today, value=1_500_000)
    ContributionFactory(
        commune=world.commune1,
        agency=world.agency_a,
        date=today.replace(year=today.year - 1, day=1),
        value=9_000_000,
    )
    login(client, world.liaison_a)

    response = client.get("/")

    assert response.status_code == 200
    assert [c.pk for c in response.context["communes"]] == [world.commune1.pk, commune3.pk]
    html = response.content.decode()
    gia_hung = home_row(html, "Gia Hưng")
    khanh_hong = home_row(html, "Khánh Hồng")
    assert cell_visit(gia_hung[1]) == "done"
    assert cell_visit(khanh_hong[1]) == "due"
    assert [text(cell) for cell in gia_hung[2:5]] == ["2", "0", "1,5 million đồng"]
    assert [text(cell) for cell in khanh_hong[2:5]] == ["0", "0", "0 đồng"]
    assert "Ninh Hòa" not in html


def test_liaison_home_counts_last_months_cell_meeting_as_due(client, world):
    first_of_month = timezone.localdate().replace(day=1)
    VisitFactory(
        commune=world.commune1,
        agency=world.agency_a,
        date=first_of_month - datetime.timedelta(days=1),
        kind="cell_meeting",
        village="Thôn Đông",
    )
    login(client, world.liaison_a)

    row = home_row(client.get("/").content.decode(), "Gia Hưng")

    assert cell_visit(row[1]) == "due"


def test_home_links_each_commune_to_its_page(client, world):
    login(client, world.liaison_a)

    html = client.get("/").content.decode()

    assert reverse("programme:commune_detail", args=[world.commune1.pk]) in html


def test_commune_officer_home_lists_their_commune(client, world):
    login(client, world.officer)

    response = client.get("/")

    assert [c.pk for c in response.context["communes"]] == [world.commune1.pk]


def test_user_without_a_role_sees_an_empty_home(client, world):
    login(client, UserFactory(username="khach"))

    response = client.get("/")

    assert response.status_code == 200
    assert list(response.context["communes"]) == []
    assert "No commune is assigned to you today." in response.content.decode()


def test_province_home_lists_the_designated_communes_and_totals(client, world, designated):
    login(client, world.staff)

    response = client.get("/")

    assert [c.pk for c in response.context["communes"]] == [world.commune1.pk, world.commune2.pk]
    html = response.content.decode()
    assert '<div class="fs-3 figure-value" data-figure="designated">2</div>' in html
    assert '<div class="fs-3 figure-value" data-figure="agencies">2</div>' in html
