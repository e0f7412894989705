"""Every filter and search parameter of every page, with SQL injection and oversized values.

The pages are the URL patterns without a record in their path that render a GET form (lists,
dashboard, completeness, report, export and import lists, unit search) and the JSON pickers;
their parameters are the fields of those forms as the page renders them for province staff (so
a filter added tomorrow is tried), plus pagination, sorting and export, and what the pickers
read. Each hostile value is sent alone in each parameter; the answer must be a normal page (or
redirect) or a 400, never a 500.

CI sends one value of each class (QUICK); `make fuzz` (FUZZ_PROFILE=access-fuzz) sends every
value of tests/access/hostile.py, as a liaison too.
"""

import os
from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.access.hostile import HOSTILE
from tests.access.test_fuzz import LIST_PAGES
from tests.access.test_matrix import PUBLIC
from tests.access.urls import all_patterns, fill

pytestmark = pytest.mark.django_db


# Parameters every list page reads besides its filter form.
ALWAYS = ["page", "sort", "_export"]
# What the JSON pickers read.
PICKER = ["q", "commune"]
# One hostile value of each class: injection, oversized text, huge and negative numbers, NUL,
# impossible dates, a page far past the end.
QUICK = [
    "1' OR 1=1 --",
    "x" * 10_000,
    "9" * 400,
    "-1",
    "abc\x00def",
    "31/02/2024",
    str(10**12),
    "Ḏ̸̡̛̋x\u202e",
]
FULL = os.environ.get("FUZZ_PROFILE") == "access-fuzz"


class GetForms(HTMLParser):
    """The names of the fields of every GET form of a page."""

    def __init__(self):
        super().__init__()
        self.names: set[str] = set()
        self._in_get_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._in_get_form = (attrs.get("method") or "get").lower() == "get"
        elif (
            tag in ("input", "select", "textarea")
            and self._in_get_form
            and attrs.get("name")
            and attrs.get("type") not in ("submit", "button")
        ):
            self.names.add(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_get_form = False


def pages(world) -> list[str]:
    """Paths of every non-admin pattern that points at no record and is not a public page."""
    found = []
    for pattern in all_patterns():
        if pattern.is_admin or pattern.name in PUBLIC:
            continue
        for target in fill(pattern, world):
            if not target.records:
                found.append(target.path)
    return found


def parameters(client, path: str) -> list[str]:
    """The page's GET-form fields and the list parameters, or what a JSON picker reads."""
    response = client.get(path)
    content_type = response.get("Content-Type", "")
    if "json" in content_type:
        return PICKER
    if response.status_code != 200 or "html" not in content_type:
        return []
    parser = GetForms()
    parser.feed(response.content.decode())
    own = parser.names - BASE_FORM_FIELDS
    if not own:
        return []  # a form or a detail page: no filters (its POST forms are fuzzed elsewhere)
    return sorted((own | set(ALWAYS)) - {"csrfmiddlewaretoken"})


# Fields of the GET forms every page has in its header (none today; kept apart so that a search
# box in the header would not make every page a "list").
BASE_FORM_FIELDS: set[str] = set()


@pytest.fixture
def world(access_world):
    access_world.rebuild_task_id = "5b0f3c2e-7d8a-4c55-9f3e-0a1b2c3d4e5f"
    return access_world


@pytest.mark.parametrize("role", ["staff", "liaison"] if FULL else ["staff"])
def test_hostile_values_in_every_filter_never_give_a_500(world, role):
    user = world.staff if role == "staff" else world.a.liaison
    client = Client()
    client.force_login(user)
    problems, tried, with_filters = [], 0, set()
    for path in pages(world):
        names = parameters(client, path)
        if names and names != PICKER:
            with_filters.add(path)
        for name in names:
            for value in HOSTILE if FULL else QUICK:
                tried += 1
                try:
                    status = client.get(path, {name: value}).status_code
                except Exception as error:  # noqa: BLE001 (the 500 a user would get)
                    status = f"500 {type(error).__name__}: {str(error)[:200]}"
                if status not in (200, 302, 400, 403, 404, 405):
                    problems.append(f"{path}?{name}={value[:40]!r}: {status}")
    assert tried > 300
    # A list page added tomorrow is fuzzed by test_fuzz.py only once it is in LIST_PAGES.
    assert with_filters <= set(LIST_PAGES), f"add to LIST_PAGES: {with_filters - set(LIST_PAGES)}"
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:60])


def test_the_filter_forms_are_found(world):
    """The parameters are read from the pages: the contribution list offers its filters."""
    client = Client()
    client.force_login(world.staff)
    names = parameters(client, "/contributions/")
    assert {"q", "commune", "agency", "category", "date_from", "date_to"} <= set(names)
    assert {"kind", "year", "number"} <= set(parameters(client, "/dashboard/"))
