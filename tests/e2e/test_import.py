"""A liaison imports the office's sheet: three bad rows are listed, fixed, and the corrected file
goes in; the records then appear on the commune page."""

import datetime
import re

import pytest
from django.urls import reverse

from partners.models import Membership
from partners.services import membership_create
from programme.categories import categories_seed
from programme.models import Contribution, ContributionCategory
from tests.factories import AgencyFactory, AssignmentFactory, CommuneFactory, UserFactory
from tests.programme.imports.conftest import HEADERS, xlsx_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sheet(*, fixed: bool) -> bytes:
    rows = [
        [
            "05/03/2025",
            "Xã Chất Bình",
            "Huyện Kim Sơn",
            "Sở NN&MT",
            "Kinh tế",
            "Giống lúa chất lượng cao",
            "Hiện vật",
            "12.500.000",
            25,
            "tạ",
            "",
        ],
        [
            "06/03/2025",
            "chat binh",
            "",
            "Sở NN&MT",
            "An sinh xã hội",
            "Quà Tết hộ nghèo",
            "Tiền mặt",
            "15 triệu" if fixed else "mười lăm triệu",
            "",
            "",
            "",
        ],
        [
            "07/03/2025" if fixed else "32/03/2025",
            "Chất Bình",
            "",
            "Sở NN&MT",
            "Nông thôn mới",
            "Xi măng làm đường thôn 4",
            "Hiện vật",
            "1,2 tỷ",
            "",
            "",
            "",
        ],
        [
            "08/03/2025",
            "Chất Bình" if fixed else "Chất Bính Mới",
            "",
            "Sở NN&MT",
            "Kinh tế",
            "Tập huấn kỹ thuật",
            "Tiền mặt",
            "4.000.000",
            "",
            "",
            "",
        ],
    ]
    return xlsx_bytes([HEADERS, *rows])


@pytest.fixture
def field(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    categories_seed(ContributionCategory)  # a transactional test starts from a flushed database
    commune = CommuneFactory(name="Chất Bình", parent__name="Kim Sơn")
    agency = AgencyFactory(name="Sở Nông nghiệp và Môi trường", short_name="Sở NN&MT")
    AssignmentFactory(agency=agency, commune=commune, start_date=datetime.date(2016, 6, 1))
    liaison = UserFactory(username="coquan")
    membership_create(user=liaison, role=Membership.Role.AGENCY_LIAISON, agency=agency)
    return commune


def _upload(page, path):
    page.select_option("#id_kind", "contributions")
    page.set_input_files("#id_file", str(path))
    with page.expect_navigation(url=re.compile(r"/imports/\d+/$")):
        page.click("#import-upload button[type=submit]")


def test_a_liaison_fixes_three_bad_rows_and_imports(live_server, page, field, tmp_path):
    bad = tmp_path / "ho-tro-2025.xlsx"
    bad.write_bytes(sheet(fixed=False))
    good = tmp_path / "ho-tro-2025-da-sua.xlsx"
    good.write_bytes(sheet(fixed=True))

    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "coquan")
    page.fill("#id_password", "password")
    page.click("main button[type=submit]")
    page.wait_for_url(live_server.url + "/")

    page.goto(live_server.url + reverse("programme:import_list"))
    _upload(page, bad)
    problems = page.locator("#import-problems tbody tr")
    assert problems.count() == 3
    rows = problems.all_inner_texts()
    assert [text.split("\t")[0].strip() for text in rows] == ["3", "4", "5"]
    page_text = page.inner_text("#import-result")
    assert "Chất Bính Mới" in page_text and "32/03/2025" in page_text
    assert page.locator("#import-commit").count() == 0
    assert page.inner_text("[data-count=create]") == "1"
    assert Contribution.objects.count() == 0

    page.goto(live_server.url + reverse("programme:import_list"))
    _upload(page, good)
    assert page.locator("#import-problems").count() == 0
    assert page.inner_text("[data-count=create]") == "4"
    with page.expect_navigation():
        page.click("#import-commit")
    assert page.locator("#import-done").is_visible()
    assert Contribution.objects.count() == 4

    page.goto(live_server.url + reverse("programme:commune_detail", args=[field.pk]))
    body = page.inner_text("main")
    for line in (
        "05/03/2025 · Giống cây trồng, vật nuôi · 12.500.000 đ",
        "06/03/2025 · Quà cho hộ nghèo, gia đình chính sách · 15.000.000 đ",
        "07/03/2025 · Đường giao thông · 1.200.000.000 đ",
        "08/03/2025 · Đào tạo nghề, việc làm · 4.000.000 đ",
    ):
        assert line in body
