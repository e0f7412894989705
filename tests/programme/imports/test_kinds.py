"""Every kind of record comes in: visits, difficulties, agencies, enterprises, terms."""

import datetime

import pytest

from communes.models import AdminUnit
from partners.models import Agency, Assignment, Enterprise, Twinning
from programme.imports import engine
from programme.imports.kinds import KINDS
from programme.models import Difficulty, Visit
from tests.factories import CommuneFactory, DesignationFactory, DistrictFactory, ProvinceFactory
from tests.programme.imports.conftest import commit, csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db


def test_visits(client, world, upload_as):
    rows = [
        ["Ngày", "Xã", "Cơ quan", "Hình thức", "Thôn/xóm", "Số người dự", "Nội dung"],
        ["05/11/2025", "Gia Hưng", "Sở A", "Sinh hoạt chi bộ", "Thôn 3", 2, "Dự sinh hoạt"],
        ["06/11/2025", "Gia Hưng", "Sở A", "Sinh hoạt chi bộ", "", 1, "Dự sinh hoạt"],
        ["07/11/2025", "Gia Hưng", "Sở A", "Khảo sát", "", "", "Khảo sát đường"],
    ]
    job = upload_as(world.liaison_a, xlsx_bytes(rows), kind="visits")
    assert job.problem_rows == 1
    [(row, column, message)] = job.problems
    assert (row, column) == (3, "Thôn/xóm") and "village" in message
    del rows[2]
    job = commit(client, upload_as(world.liaison_a, xlsx_bytes(rows), kind="visits"))
    assert job.created == 2
    meeting = Visit.objects.get(kind=Visit.Kind.CELL_MEETING)
    assert (meeting.village, meeting.participants_count, meeting.agency) == (
        "Thôn 3",
        2,
        world.agency_a,
    )
    assert Visit.objects.get(kind=Visit.Kind.SURVEY).participants_count == 1
    again = upload_as(world.liaison_a, xlsx_bytes(rows), kind="visits")
    assert (again.to_create, again.duplicates) == (0, 2)


def test_difficulties_with_history(client, world, upload_as):
    rows = [
        [
            "Ngày",
            "Xã",
            "Lĩnh vực",
            "Nội dung khó khăn",
            "Đề xuất",
            "Trách nhiệm",
            "Trạng thái",
            "Kết quả giải quyết",
            "Ngày giải quyết",
        ],
        ["10/10/2024", "Gia Hưng", "Kinh tế", "Thiếu vốn", "Vay ưu đãi", "Tỉnh", "Mới", "", ""],
        [
            "11/10/2024",
            "Gia Hưng",
            "NTM",
            "Đường hỏng",
            "",
            "Xã",
            "Đã giải quyết",
            "Đã sửa xong",
            "20/12/2024",
        ],
        ["12/10/2024", "Gia Hưng", "NTM", "Cầu yếu", "", "", "Đã giải quyết", "", ""],
    ]
    job = upload_as(world.officer, xlsx_bytes(rows), kind="difficulties")
    columns = {column for _row, column, _m in job.problems}
    assert job.problem_rows == 1 and columns == {"Kết quả giải quyết", "Ngày giải quyết"}
    job = commit(client, upload_as(world.officer, xlsx_bytes(rows[:3]), kind="difficulties"))
    assert job.created == 2
    resolved = Difficulty.objects.get(description="Đường hỏng")
    assert (resolved.status, resolved.resolved_on, resolved.owner) == (
        "resolved",
        datetime.date(2024, 12, 20),
        "commune",
    )
    # An update may move the status only as the lifecycle allows.
    rows[2][6] = "Mới"
    job = upload_as(world.officer, xlsx_bytes(rows[:3]), kind="difficulties")
    assert job.problem_rows == 1 and "cannot go from" in job.problems[0][2]
    rows[1][6] = "Đang xử lý"
    job = commit(client, upload_as(world.officer, xlsx_bytes(rows[:2]), kind="difficulties"))
    assert job.updated == 1
    assert Difficulty.objects.get(description="Thiếu vốn").status == "in_progress"


def test_difficulties_outside_the_scope(world, upload_as):
    rows = [
        ["Ngày", "Xã", "Lĩnh vực", "Nội dung khó khăn"],
        ["10/10/2024", "Ninh Hòa", "Kinh tế", "Thiếu vốn"],
    ]
    job = upload_as(world.officer, xlsx_bytes(rows), kind="difficulties")
    assert job.problem_rows == 1 and "do not work for this commune" in job.problems[0][2]


def test_agencies_and_enterprises_created_then_updated(client, world, upload_as):
    rows = [
        ["Tên cơ quan", "Tên viết tắt", "Loại", "Điện thoại"],
        ["Sở Tư pháp", "STP", "Cơ quan nhà nước", "0229 3871 111"],
        [world.agency_a.name, "Sở A", "Khối Đảng", ""],
    ]
    job = upload_as(world.staff, xlsx_bytes(rows), kind="agencies")
    assert job.problems == []
    job = commit(client, job)
    assert (job.created, job.updated) == (1, 1)
    assert Agency.objects.get(name="Sở Tư pháp").short_name == "STP"
    world.agency_a.refresh_from_db()
    assert world.agency_a.kind == Agency.Kind.PARTY

    rows = [
        ["Tên doanh nghiệp", "Mã số thuế", "Ngành nghề"],
        ["Công ty CP Gạch Ninh Bình", "2700999888", "Vật liệu"],
        ["Chi nhánh", "2700999888-001", ""],
        ["Tên sai mã", "12345", ""],
    ]
    job = upload_as(world.staff, csv_bytes(rows), name="dn.csv", kind="enterprises")
    assert job.problem_rows == 1 and job.problems[0][1] == "Mã số thuế"
    job = commit(
        client, upload_as(world.staff, csv_bytes(rows[:3]), name="dn.csv", kind="enterprises")
    )
    assert job.created == 2
    assert Enterprise.objects.filter(tax_code__startswith="2700999888").count() == 2


def test_assignments_and_twinnings(client, world, upload_as):
    rows = [
        ["Cơ quan", "Xã", "Vai trò", "Từ ngày", "Đến ngày", "Số quyết định"],
        ["Sở B", "Gia Hưng", "Phối hợp", "01/01/2020", "", "12-QĐ/TU"],
        ["Sở B", "Gia Hưng", "Chủ trì", "01/01/2020", "", ""],
    ]
    job = upload_as(world.staff, xlsx_bytes(rows), kind="assignments")
    # The second row would be a second lead agency of Gia Hưng while A leads it.
    assert job.problem_rows == 2 or job.problem_rows == 1
    job = commit(client, upload_as(world.staff, xlsx_bytes(rows[:2]), kind="assignments"))
    assert job.created == 1
    assert Assignment.objects.get(agency=world.agency_b, commune=world.commune1).role == "co"
    rows = [
        ["Doanh nghiệp", "Xã", "Từ ngày"],
        [world.enterprise.tax_code, "Ninh Hòa", "01/02/2021"],
    ]
    job = commit(client, upload_as(world.staff, xlsx_bytes(rows), kind="twinnings"))
    assert job.created == 1
    assert Twinning.objects.filter(enterprise=world.enterprise, commune=world.commune2).exists()


class TestCommunes:
    """Communes by name with or without the prefix, by district where names repeat, by code."""

    @pytest.fixture
    def twins(self, world):
        east = DistrictFactory(name="Yên Mô")
        west = DistrictFactory(name="Yên Khánh")
        a = CommuneFactory(name="Yên Thành", parent=east, code="14800")
        b = CommuneFactory(name="Yên Thành", parent=west, code="14900")
        return a, b

    def resolve(self, world, **cells):
        index = KINDS["contributions"]
        from partners.scoping import scope_for
        from programme.imports.kinds import Context, Row, commune_of

        ctx = Context(user=world.staff, scope=scope_for(world.staff), today=datetime.date.today())
        row = Row(index, cells)
        unit = commune_of(row, ctx, datetime.date(2024, 1, 1))
        return unit, row.errors

    @pytest.mark.parametrize(
        "name", ["Gia Hưng", "Xã Gia Hưng", "xa gia hung", "GIA HUNG", "Gia  Hưng", "X. Gia Hưng"]
    )
    def test_names(self, world, name):
        unit, errors = self.resolve(world, commune=name)
        assert errors == {} and unit.pk == world.commune1.pk

    def test_ambiguous_then_told_apart(self, world, twins):
        unit, errors = self.resolve(world, commune="Yên Thành")
        assert unit is None
        assert "Several communes" in errors["commune"]
        assert "Huyện Yên Mô" in errors["commune"] and "Huyện Yên Khánh" in errors["commune"]
        unit, errors = self.resolve(world, commune="Yên Thành", district="huyen yen khanh")
        assert unit.pk == twins[1].pk
        unit, errors = self.resolve(world, commune="", commune_code="14800")
        assert unit.pk == twins[0].pk

    def test_the_designated_one_wins(self, world, twins):
        DesignationFactory(commune=twins[0])
        unit, errors = self.resolve(world, commune="Yên Thành")
        assert unit.pk == twins[0].pk

    def test_unknown_with_closest_matches(self, world):
        unit, errors = self.resolve(world, commune="Gia Hung Moi")
        assert unit is None and "Did you mean" in errors["commune"]
        assert "Xã Gia Hưng" in errors["commune"]
        # Tones are ignored: "Gia Hùng" is Gia Hưng typed without care.
        unit, errors = self.resolve(world, commune="Gia Hùng")
        assert unit.pk == world.commune1.pk

    def test_wrong_district_and_code(self, world):
        unit, errors = self.resolve(world, commune="Gia Hưng", district="Huyện Kim Sơn")
        assert "no commune" in errors["commune"]
        unit, errors = self.resolve(world, commune="", commune_code="00001")
        assert "GSO code" in errors["commune_code"]

    def test_only_the_unit_valid_that_day(self, world):
        CommuneFactory(name="Gia Hưng", valid_until=datetime.date(2019, 12, 31), parent=None)
        unit, errors = self.resolve(world, commune="Gia Hưng")
        assert unit.pk == world.commune1.pk
        assert AdminUnit.objects.filter(name="Gia Hưng").count() == 2


def test_analyse_reads_english_values_too(world):
    rows = [
        ["Date", "Commune", "Contributor", "Area", "Description", "Form", "Value"],
        ["2024-03-05", "Gia Hung", "Sở A", "social welfare", "Gifts", "cash", "1500000"],
    ]
    outcome = engine.analyse(xlsx_bytes(rows), kind=KINDS["contributions"], user=world.liaison_a)
    assert outcome.problems == [] and len(outcome.creates) == 1


def test_undo_unlinks_what_was_added_to_imported_records(client, world, upload_as, upload):
    from django.urls import reverse

    from programme.services import difficulty_record

    rows = [
        ["Ngày", "Xã", "Cơ quan", "Hình thức", "Nội dung"],
        ["07/11/2025", "Gia Hưng", "Sở A", "Khảo sát", "Khảo sát đường"],
    ]
    job = commit(client, upload_as(world.liaison_a, xlsx_bytes(rows), kind="visits"))
    visit = Visit.objects.get()
    difficulty = difficulty_record(
        user=world.liaison_a,
        commune=world.commune1,
        raised_on=datetime.date(2025, 11, 7),
        area="ntm",
        description="Đường hỏng",
        visit=visit,
        files=[upload("anh.png", "png")],
    )
    client.force_login(world.staff)
    client.post(reverse("programme:import_undo", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "undone"
    assert not Visit.objects.exists()
    difficulty.refresh_from_db()
    assert difficulty.visit is None and difficulty.attachments.count() == 1


def test_undo_refused_when_other_records_depend_on_an_imported_agency(client, world, upload_as):
    from django.urls import reverse

    from partners.services import membership_create
    from tests.factories import UserFactory

    rows = [["Tên cơ quan", "Tên viết tắt"], ["Sở Du lịch", "SDL"]]
    job = commit(client, upload_as(world.staff, xlsx_bytes(rows), kind="agencies"))
    agency = Agency.objects.get(name="Sở Du lịch")
    AssignmentDay = datetime.date(2020, 1, 1)
    Assignment.objects.create(
        agency=agency, commune=world.commune2, role="co", start_date=AssignmentDay
    )
    membership_create(user=UserFactory(), role="agency_liaison", agency=agency)
    response = client.post(reverse("programme:import_undo", args=[job.pk]), follow=True)
    job.refresh_from_db()
    assert job.status == "done"
    assert "cannot be undone" in response.content.decode() or "cannot be undone" in job.message
    assert Agency.objects.filter(name="Sở Du lịch").exists()


class TestNamesThatLookLikeAbbreviations:
    """“P.”, “X.”, “H.”, “Q.” are kind words only with their dot or space: “Phong Thủy” is not
    “Hồng Thủy”, “Quỳ Hợp” is not “Uỳ Hợp”."""

    def resolve(self, world, **cells):
        return TestCommunes.resolve(self, world, **cells)

    def test_first_letters_are_kept(self, world):
        phong = CommuneFactory(name="Phong Thủy")
        CommuneFactory(name="Hồng Thủy")
        unit, errors = self.resolve(world, commune="Phong Thủy")
        assert errors == {} and unit.pk == phong.pk
        unit, errors = self.resolve(world, commune="P. Phong Thủy")
        assert unit.pk == phong.pk

    def test_district_starting_with_a_prefix_letter(self, world):
        quy_hop = DistrictFactory(name="Quỳ Hợp")
        chau = CommuneFactory(name="Châu Quang", parent=quy_hop)
        CommuneFactory(name="Châu Quang", parent=DistrictFactory(name="Hoa Lư"))
        unit, errors = self.resolve(world, commune="Xã Châu Quang", district="Huyện Quỳ Hợp")
        assert errors == {} and unit.pk == chau.pk

    def test_the_parent_counts_before_the_province(self, world):
        # A city and a district of the province both have a “Vĩnh Quang”; the city bears the
        # province's name, which must not make the district's commune match too.
        province = ProvinceFactory(name="Cao Bằng")
        city = DistrictFactory(name="Cao Bằng", parent=province, kind="thanh_pho")
        in_city = CommuneFactory(name="Vĩnh Quang", parent=city, kind="phuong")
        CommuneFactory(name="Vĩnh Quang", parent=DistrictFactory(name="Bảo Lâm", parent=province))
        unit, errors = self.resolve(world, commune="Vĩnh Quang", district="Thành phố Cao Bằng")
        assert errors == {} and unit.pk == in_city.pk
