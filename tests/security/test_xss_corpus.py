"""Every free-text field holds an XSS payload corpus; every page that shows them keeps it inert.

The corpus goes into the records (visits, difficulties, contributions, plans and plan items,
attachments' file names), the partners (agencies, enterprises, assignments' decision references),
the commune names and a support category, straight through the ORM, as an import or the admin
could store them. Then every page that shows them is rendered: each must show the payload as text
(escaped) and never as markup, and exports must carry it as data in a non-HTML download.
"""

import csv
import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape

from communes.models import AdminUnit, Programme
from partners.models import Agency, Assignment, Enterprise
from programme.categories import categories_seed
from programme.models import ContributionCategory
from programme.services import attachment_add
from reports import exports, reviews
from reports.rollups import outbox_drain
from tests.factories import (
    ContributionFactory,
    DesignationFactory,
    DifficultyFactory,
    PlanFactory,
    PlanItemFactory,
    VisitFactory,
)
from tests.programme.conftest import PDF_BYTES

pytestmark = pytest.mark.django_db

# Markup that runs script when a browser parses it unescaped, attribute break-outs, a javascript:
# URL, and template syntax (which must print as typed, never be evaluated).
CORPUS = [
    '<script>alert("xss")</script>',
    '"><img src=x onerror=alert("xss")>',
    "'><svg onload=alert('xss')>",
    'javascript:alert("xss")',
    "{{ request.user.password }}{% debug %}",
    '</textarea></title><script>alert("xss")</script>',
    "<iframe src=\"javascript:alert('xss')\"></iframe>",
    "<a href=\"javascript:alert('xss')\">x</a>",
]
SHORT = "<svg onload=alert(1)>"  # for fields of 30-40 characters

# Raw markup of the corpus: present only if a value was written into the page unescaped.
RAW_MARKUP = re.compile(
    r"<script>alert|<img src=x|<svg onload|<iframe src|<a href=.javascript", re.I
)


class ActiveContent(HTMLParser):
    """What a browser would run: event-handler attributes, javascript: URLs, script bodies that
    call alert(). The application's own pages have none (the Content Security Policy forbids
    inline handlers), so any found came from the data."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in {"href", "src", "action", "formaction", "data"} and value.startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value[:30]}>")
        # A json_script block is data (its "<" are written \\u003C), not a script.
        kind = dict(attrs).get("type") or ""
        self._in_script = tag == "script" and "json" not in kind

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and "alert(" in data:
            self.found.append(f"<script>{data[:40]}")


def payload(limit: int, label: str) -> str:
    """As much of the corpus as fits in `limit` characters, led by a label naming the field."""
    text = label
    for item in CORPUS:
        if len(text) + len(item) <= limit:
            text += item
    return text if text != label else SHORT[:limit]


def assert_inert(html: str, where: str) -> None:
    raw = RAW_MARKUP.findall(html)
    assert not raw, f"{where}: unescaped payload {raw[:3]}"
    parser = ActiveContent()
    parser.feed(html)
    parser.close()
    assert not parser.found, f"{where}: payload became active content {parser.found[:3]}"
    assert "md5$" not in html, f"{where}: a template tag in the data was evaluated"
    escaped = [escape(item) for item in CORPUS] + [escape(SHORT)]
    assert any(item in html for item in escaped), f"{where}: the payload is not shown at all"


@dataclass
class Stored:
    visit: object
    difficulty: object
    agency_gift: object
    enterprise_gift: object
    plan: object
    item: object


@pytest.fixture
def stored(world, media_root) -> Stored:
    categories_seed(ContributionCategory)  # a browser test starts from a flushed database
    AdminUnit.objects.filter(pk=world.commune1.pk).update(name=payload(120, "Xã "))
    AdminUnit.objects.filter(pk=world.commune1.parent_id).update(name=payload(120, "Huyện "))
    Agency.objects.filter(pk=world.agency_a.pk).update(
        name=payload(255, "Sở "),
        short_name=payload(60, "S"),
        contact_name=payload(120, "Ông "),
        phone=SHORT,
        address=payload(255, "Số "),
    )
    Enterprise.objects.filter(pk=world.enterprise.pk).update(
        name=payload(255, "Công ty "),
        sector=payload(120, "Ngành "),
        contact_name=payload(120, "Bà "),
        phone=SHORT,
        address=payload(255, "Số "),
    )
    Assignment.objects.filter(agency=world.agency_a).update(
        decision_reference=payload(120, "QĐ "), note=payload(4000, "Ghi chú ")
    )
    designation = DesignationFactory(
        commune=world.commune1,
        decision_reference=payload(120, "QĐ "),
        note=payload(4000, "Ghi chú "),
    )
    Programme.objects.filter(pk=designation.programme_id).update(name=payload(255, "Chương trình "))
    ContributionCategory.objects.filter(code="roads").update(
        name_vi=payload(120, "Đường "), name_en=payload(120, "Roads ")
    )
    text = payload(4000, "Nội dung ")
    visit = VisitFactory(
        commune=world.commune1,
        agency=world.agency_a,
        kind="cell_meeting",
        village=payload(120, "Thôn "),
        participant_names=payload(2000, "Người dự "),
        summary=text,
        follow_ups=text,
    )
    difficulty = DifficultyFactory(
        commune=world.commune1,
        description=text,
        proposal=text,
        resolution=text,
        unresolvable_reason=text,
    )
    agency_gift = ContributionFactory(
        commune=world.commune1,
        agency=world.agency_a,
        unit=payload(40, "u"),
        description=text,
        note=text,
    )
    enterprise_gift = ContributionFactory(
        commune=world.commune1,
        agency=None,
        enterprise=world.enterprise,
        form="in_kind",
        quantity=10,
        unit=SHORT,
        description=text,
        note=text,
    )
    plan = PlanFactory(commune=world.commune1, year=2024, note=text)
    item = PlanItemFactory(
        plan=plan,
        title=payload(255, "Việc "),
        description=text,
        target_text=payload(255, "Mục tiêu "),
    )
    for record in (visit, difficulty, agency_gift):
        name = payload(250, "") + ".pdf"
        attachment_add(user=world.staff, record=record, files=[SimpleUploadedFile(name, PDF_BYTES)])
    outbox_drain()  # the rollups the dashboard and the reports read
    return Stored(visit, difficulty, agency_gift, enterprise_gift, plan, item)


def _pages(world, stored: Stored) -> list[tuple[str, object, str]]:
    """(who, user, url) of every page that shows the stored text."""
    c1 = world.commune1.pk
    staff, liaison, officer, rep = world.staff, world.liaison_a, world.officer, world.rep
    pages = [
        ("liaison home", liaison, reverse("home")),
        ("province home", staff, reverse("home")),
        ("officer home", officer, reverse("home")),
        ("enterprise home", rep, reverse("home")),
        ("commune page", staff, reverse("programme:commune_detail", args=[c1])),
        ("commune page (liaison)", liaison, reverse("programme:commune_detail", args=[c1])),
        ("dashboard", staff, reverse("reports:dashboard") + "?kind=year&year=2024"),
        ("completeness", staff, reverse("reports:completeness") + "?year=2024"),
        ("unit list", staff, reverse("communes:unit_list") + "?q=svg"),
    ]
    for name in ("visit", "difficulty", "contribution", "plan_item"):
        url = reverse(f"programme:{name}_list")
        pages += [(f"{name} list", staff, url), (f"{name} search", staff, url + "?q=xss")]
        pages.append((f"{name} list (liaison)", liaison, url))
    for name, record, editor in (
        ("visit", stored.visit, liaison),
        ("difficulty", stored.difficulty, liaison),
        ("contribution", stored.agency_gift, liaison),
        ("contribution", stored.enterprise_gift, rep),
        ("plan", stored.plan, liaison),
    ):
        detail = reverse(f"programme:{name}_detail", args=[record.pk])
        pages += [(f"{name} detail", staff, detail), (f"{name} detail (editor)", editor, detail)]
        pages.append((f"{name} edit", editor, reverse(f"programme:{name}_edit", args=[record.pk])))
    pages.append(
        ("plan item edit", liaison, reverse("programme:plan_item_edit", args=[stored.item.pk]))
    )
    pages.append(("new visit form", liaison, reverse("programme:visit_new")))
    pages.append(("new contribution form", rep, reverse("programme:contribution_new")))
    return pages


def test_every_page_shows_the_payload_as_text(client, world, stored):
    pages = _pages(world, stored)
    assert len(pages) >= 35
    for label, user, url in pages:
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, f"{label}: {url} answered {response.status_code}"
        assert response["Content-Type"].startswith("text/html")
        assert_inert(response.content.decode(), f"{label} ({url})")


def test_the_admin_shows_the_payload_as_text(client, admin_user, world, stored):
    """Lists, change forms and the history pages (whose differences show old and new text)."""
    stored.visit.summary = payload(4000, "Sửa ")
    stored.visit._change_reason = payload(100, "Lý do ")
    stored.visit.save()
    client.force_login(admin_user)
    objects = [
        stored.visit,
        stored.difficulty,
        stored.agency_gift,
        stored.plan,  # its items are inline
        world.agency_a,
        world.enterprise,
        world.commune1,
        Assignment.objects.filter(agency=world.agency_a).get(),
    ]
    for obj in objects:
        meta = obj._meta
        prefix = f"admin:{meta.app_label}_{meta.model_name}"
        for url in (
            reverse(f"{prefix}_changelist"),
            reverse(f"{prefix}_change", args=[obj.pk]),
            reverse(f"{prefix}_history", args=[obj.pk]),
        ):
            response = client.get(url)
            assert response.status_code == 200, url
            assert_inert(response.content.decode(), url)
    diff = reverse(
        "admin:programme_visit_simple_history",
        args=[stored.visit.pk, stored.visit.history.latest().history_id],
    )
    response = client.get(diff)
    assert response.status_code == 200
    assert_inert(response.content.decode(), diff)


def test_period_reports_keep_the_payload_inert(client, world, stored):
    report, _created = reviews.period_report_draft(
        kind="year", year=2024, scope="commune", commune=world.commune1, user=world.staff
    )
    agency_report, _created = reviews.period_report_draft(
        kind="year", year=2024, scope="agency", agency=world.agency_a, user=world.staff
    )
    reviews.period_report_submit(user=world.staff, report=report)
    reviews.period_report_return(user=world.staff, report=report, comment=payload(2000, "Lý do "))
    client.force_login(world.staff)
    for label, url in [
        ("report list", reverse("reports:report_list")),
        ("commune report", reverse("reports:report_detail", args=[report.pk])),
        ("agency report", reverse("reports:report_detail", args=[agency_report.pk])),
    ]:
        response = client.get(url)
        assert response.status_code == 200, label
        assert_inert(response.content.decode(), label)
    # The PDF is printed by WeasyPrint from HTML: that HTML must keep the payload as text too,
    # or the printer would fetch the payload's images.
    html = render_to_string(
        "reports/report_pdf.html",
        {"doc": exports.report_document(report), "headers": exports.HEADERS},
    )
    assert_inert(html, "report PDF's HTML")
    for file_format, content_type in [
        ("pdf", "application/pdf"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("csv", "text/csv"),
    ]:
        response = client.get(reverse("reports:report_export", args=[report.pk, file_format]))
        assert response.status_code == 200, file_format
        assert response["Content-Type"].startswith(content_type)
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"


def _csv_cells(content: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))) for cell in row]


def _xlsx_cells(content: bytes) -> list[str]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [
        str(cell)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    ]


@pytest.mark.parametrize("name", ["visit", "difficulty", "contribution", "plan_item"])
def test_list_downloads_carry_the_payload_as_data(client, world, stored, name):
    client.force_login(world.staff)
    url = reverse(f"programme:{name}_list")
    for file_format, read in [("csv", _csv_cells), ("xlsx", _xlsx_cells)]:
        response = client.get(url, {"_export": file_format})
        assert response.status_code == 200
        assert not response["Content-Type"].startswith("text/html")
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
        cells = read(
            b"".join(response.streaming_content) if response.streaming else response.content
        )
        # The text arrives whole, as data (a spreadsheet shows it, nothing runs it).
        assert any(CORPUS[0] in cell for cell in cells), f"{name} {file_format}"
