"""The table body written in Python (programme.templatetags.table_rows) is the markup that
django-tables2's own bootstrap5 template writes, cell for cell."""

import re

import django_tables2 as tables
import pytest
from django.test import RequestFactory

from programme.models import Contribution, Difficulty, Visit
from programme.tables import ContributionTable, DifficultyTable, VisitTable
from tests.factories import (
    ContributionFactory,
    DifficultyFactory,
    EnterpriseFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

ORIGINAL = "django_tables2/bootstrap5-responsive.html"


def _body(html: str) -> str:
    body = html[html.index("<tbody") : html.index("</tbody>")]
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", body)).strip()


def _both(table_class, queryset, **options) -> tuple[str, str]:
    request = RequestFactory().get("/")
    ours = table_class(queryset, **options)
    ours.paginate(per_page=25)
    original = table_class(queryset, template_name=ORIGINAL, **options)
    original.paginate(per_page=25)
    return _body(ours.as_html(request)), _body(original.as_html(request))


def test_rows_are_the_markup_of_django_tables2s_template():
    ContributionFactory(description="<script>alert(1)</script> & đường", value=1_234_567)
    ContributionFactory(agency=None, enterprise=EnterpriseFactory(), form="in_kind")
    VisitFactory(village="Chi bộ <b>thôn</b> 3", participants_count=12345)
    DifficultyFactory(description="x" * 300)
    for table_class, model in (
        (ContributionTable, Contribution),
        (VisitTable, Visit),
        (DifficultyTable, Difficulty),
    ):
        ours, original = _both(table_class, model.objects.all())
        assert "<tr" in ours
        assert ours == original, table_class.__name__
    assert "&lt;script&gt;" in _both(ContributionTable, Contribution.objects.all())[0]


def test_an_empty_table_says_so():
    ours, original = _both(
        ContributionTable, Contribution.objects.none(), empty_text="Không có bản ghi <nào>"
    )
    assert ours == original
    assert 'colspan="9"' in ours and "&lt;nào&gt;" in ours


class _Localised(VisitTable):
    participants_count = tables.Column(localize=True)
    village = tables.Column(localize=False)


def test_columns_that_choose_their_localisation_keep_it():
    VisitFactory(village="12345", participants_count=12345)
    ours, original = _both(_Localised, Visit.objects.all())
    assert ours == original
    assert "<td >12345</td>" in ours
