"""Sign-off of a quarterly report in the browser: the liaison submits it, province staff approve
it, the liaison then corrects a contribution of that quarter, and the report shows "changed since
approval" with the difference and the record; the XLSX and PDF downloads carry the approved
figures."""

import io

import openpyxl
import pytest

from programme.categories import categories_seed
from programme.models import ContributionCategory
from reports import reviews
from reports.models import PeriodReport
from reports.rollups import outbox_drain
from tests.reports.test_exports_reports import XLSX_HEADER_ROW, pdf_text
from tests.reports.test_reviews import build_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Transactional tests flush the categories the migrations seeded.
    categories_seed(ContributionCategory)
    return build_world()


def _log_in(page, base_url, username):
    page.context.clear_cookies()
    page.goto(base_url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "password")
    page.click("main button[type=submit]")
    page.wait_for_url(base_url + "/")


def _download(page, selector, tmp_path) -> bytes:
    with page.expect_download() as info:
        page.click(selector)
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path.read_bytes()


def test_staff_approve_a_quarter_then_a_correction_shows_as_changed(
    live_server, page, world, tmp_path
):
    report, _created = reviews.period_report_draft(
        kind="quarter", year=2025, number=1, scope="agency", agency=world.agency_a
    )
    url = f"{live_server.url}/reports/{report.pk}/"

    # The liaison submits the agency's quarterly report.
    _log_in(page, live_server.url, "lien_lac_a")
    page.goto(url)
    assert page.locator("#figures tr[data-figure=total] [data-value=actual]").inner_text() == (
        "10.000.000"
    )
    assert page.locator("#approve-report").count() == 0
    with page.expect_navigation():
        page.click("#submit-report")
    assert page.locator("#report-status").get_attribute("data-status") == "submitted"

    # Province staff approve it.
    _log_in(page, live_server.url, "ban_to_chuc")
    page.goto(url)
    with page.expect_navigation():
        page.click("#approve-report")
    assert page.locator("#report-status").get_attribute("data-status") == "approved"
    assert page.locator("#changed-since-approval").count() == 0
    assert len(page.locator("#timeline li").all()) == 3  # drafted, submitted, approved

    # The liaison corrects a contribution of that quarter: 10.000.000 → 12.000.000.
    _log_in(page, live_server.url, "lien_lac_a")
    page.goto(f"{live_server.url}/contributions/{world.contribution.pk}/edit/")
    page.fill("#id_value", "12.000.000")
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/contributions/{world.contribution.pk}/")
    outbox_drain()  # what the worker does when woken

    # Staff see the report changed since approval, figure by figure, and the record.
    _log_in(page, live_server.url, "ban_to_chuc")
    page.goto(url)
    changed = page.locator("#changed-since-approval")
    assert changed.is_visible()
    total = changed.locator("tr[data-figure=total][data-column=actual]")
    assert total.locator("[data-value=approved]").inner_text() == "10.000.000"
    assert total.locator("[data-value=current]").inner_text() == "12.000.000"
    assert total.locator("[data-value=difference]").inner_text() == "+2.000.000"
    record = changed.locator("#changed-records li")
    assert record.count() == 1
    assert "10.000.000 đ → 12.000.000 đ" in record.inner_text()
    assert "lien_lac_a" in record.inner_text()
    # The table itself still shows the approved figures.
    assert page.locator("#figures tr[data-figure=total] [data-value=actual]").inner_text() == (
        "10.000.000"
    )

    # The downloads open and carry the approved figures.
    xlsx = openpyxl.load_workbook(io.BytesIO(_download(page, "#download-xlsx", tmp_path))).active
    rows = list(xlsx.iter_rows(values_only=True))
    total_row = rows[XLSX_HEADER_ROW]
    assert total_row[4] == 10_000_000 and total_row[7] == 15_000_000
    pdf = _download(page, "#download-pdf", tmp_path)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "10.000.000" in text and "15.000.000" in text
    assert "12.000.000" not in text and "17.000.000" not in text
    assert PeriodReport.objects.get(pk=report.pk).status == "approved"
