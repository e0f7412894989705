"""Record lists page by seeking in their default order (no OFFSET, no COUNT), and by bounded
page numbers in any other order."""

import csv
import datetime
import io
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from programme.listing import RecordListView
from programme.models import Contribution, ContributionCategory

ROWS = 60  # a little more than two pages; many rows share a day


@pytest.fixture
def contributions(world):
    roads = ContributionCategory.objects.get(code="roads")
    Contribution.objects.bulk_create(
        Contribution(
            commune=world.commune1,
            agency=world.agency_a,
            date=datetime.date(2024, 1 + i % 3, 1 + i % 5),
            area="ntm",
            category=roads,
            form="cash",
            value=1_000_000 + i,
            description=f"Hỗ trợ số {i}",
        )
        for i in range(ROWS)
    )
    return Contribution.objects.all()


def shown(response) -> list[int]:
    """The ids of the contributions listed, in the page's order."""
    return [
        int(pk) for pk in re.findall(r'href="/contributions/(\d+)/"', response.content.decode())
    ]


def nav(response, rel: str) -> str | None:
    found = re.search(rf'href="([^"]+)" rel="{rel}"', response.content.decode())
    return unescape(found[1]) if found else None


def walk(client, first: str, rel: str) -> list[list[int]]:
    pages, url = [], first
    while url is not None:
        response = client.get("/contributions/" + url)
        assert response.status_code == 200
        pages.append(shown(response))
        url = nav(response, rel)
        assert len(pages) < 10
    return pages


def test_next_links_reach_every_row_once_newest_first_and_previous_links_come_back(
    client, world, contributions
):
    client.force_login(world.staff)
    expected = list(contributions.order_by("-date", "-pk").values_list("pk", flat=True))

    forward = walk(client, "", "next")

    assert [len(page) for page in forward] == [25, 25, 10]
    assert sum(forward, []) == expected
    last = client.get("/contributions/", {"after": _key(contributions, forward[1][-1])})
    back = walk(client, nav(last, "prev"), "prev")
    assert back == [forward[1], forward[0]]


def test_sorting_by_date_ascending_seeks_too(client, world, contributions):
    client.force_login(world.staff)
    expected = list(contributions.order_by("date", "pk").values_list("pk", flat=True))

    pages = walk(client, "?sort=date", "next")

    assert sum(pages, []) == expected


def _key(contributions, pk: int) -> str:
    row = contributions.get(pk=pk)
    return f"{row.date.isoformat()}_{row.pk}"


def test_a_deep_page_seeks_by_date_and_id_without_offset_or_count(client, world, contributions):
    client.force_login(world.liaison_a)
    middle = contributions.order_by("-date", "-pk")[30]
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/contributions/", {"after": _key(contributions, middle.pk)})
    expected = list(contributions.order_by("-date", "-pk").values_list("pk", flat=True))[31:56]
    assert shown(response) == expected
    sql = " ".join(query["sql"] for query in queries.captured_queries).upper()
    assert "OFFSET" not in sql and "COUNT(" not in sql
    assert '"PROGRAMME_CONTRIBUTION"."DATE" <=' in sql


def test_other_orders_number_their_pages_up_to_a_bound(client, world, contributions, monkeypatch):
    monkeypatch.setattr(RecordListView, "MAX_PAGE", 2)
    client.force_login(world.staff)

    mine = {"sort": "value"}
    second = client.get("/contributions/", {**mine, "page": "2", "per_page": "1000"})
    beyond = client.get("/contributions/", {**mine, "page": "3"})

    by_value = list(contributions.order_by("value").values_list("pk", flat=True))
    assert shown(second) == by_value[25:50]  # per_page from the query string is ignored
    assert 'id="page-capped"' not in second.content.decode()
    assert shown(beyond) == by_value[25:50]
    assert 'id="page-capped"' in beyond.content.decode()


def test_a_list_estimated_too_long_is_not_sorted_by_another_column(
    client, world, contributions, monkeypatch
):
    client.force_login(world.staff)
    sorted_by_value = list(contributions.order_by("value").values_list("pk", flat=True))[:25]
    assert shown(client.get("/contributions/", {"sort": "value"})) == sorted_by_value
    monkeypatch.setattr(RecordListView, "SORT_LIMIT", 0)  # PostgreSQL estimates ≥ 1 row

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/contributions/", {"sort": "value"})

    newest = list(contributions.order_by("-date", "-pk").values_list("pk", flat=True))[:25]
    assert shown(response) == newest
    assert 'id="sort-refused"' in response.content.decode()
    sql = " ".join(query["sql"] for query in queries.captured_queries).upper()
    assert "EXPLAIN" in sql and "COUNT(" not in sql


def test_a_bad_cursor_shows_the_first_page(client, world, contributions):
    client.force_login(world.staff)
    first = shown(client.get("/contributions/"))
    for bad in ("x", "2024-13-01_5", "2024-01-01", "2024-01-01_-3"):
        assert shown(client.get("/contributions/", {"after": bad})) == first, bad


def test_the_download_holds_every_filtered_row_whatever_page_is_shown(client, world, contributions):
    client.force_login(world.staff)
    some = contributions.order_by("-date", "-pk")[10]
    response = client.get(
        "/contributions/", {"after": _key(contributions, some.pk), "_export": "csv"}
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == ROWS + 1
