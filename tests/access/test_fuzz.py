"""Hypothesis fuzzing of every form and every filter: no 500, nothing half-saved, whole đồng.

Each form is read from the page that renders it (tests/access/forms_html.py), so a field added
tomorrow is fuzzed too. Every field gets, drawn by Hypothesis, either a plausible value (an
option of its select, a date as typed, an amount written the Vietnamese way, an id of side A's
or side B's records) or a hostile one (tests/access/hostile.py); fields are sometimes left out,
files are sometimes random bytes. After each example:

- the answer is not a 500 (a view that raises counts as one);
- a refused post saved nothing (no new record, the edited record unchanged);
- side B's commune got no record from a side-A user;
- every amount stored is a whole number of đồng, and an amount typed with a fraction was never
  accepted (no silent rounding): what was stored is exactly what was typed.

Filters: each list page gets random combinations of its filter parameters.

The number of examples comes from a Hypothesis settings profile: `access-ci` (30, the default,
what CI runs) or `access-fuzz` (1.000 each, `make fuzz`, i.e. FUZZ_PROFILE=access-fuzz).
"""

import os
import re
import string
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from programme.models import Contribution, Difficulty, Plan, PlanItem, Visit
from reports.models import PeriodReport
from tests.access.forms_html import Field, forms_of, main_post_form
from tests.access.hostile import HOSTILE

pytestmark = pytest.mark.django_db

_COMMON = {
    "deadline": None,
    "derandomize": False,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
    "database": None,
}
# CI runs the same 30 examples every time (a red CI is then reproducible); `make fuzz` explores.
settings.register_profile("access-ci", max_examples=30, **{**_COMMON, "derandomize": True})
settings.register_profile("access-fuzz", max_examples=1000, **_COMMON)
PROFILE = settings.get_profile(os.environ.get("FUZZ_PROFILE", "access-ci"))

DATE_NAMES = {
    "date",
    "raised_on",
    "resolved_on",
    "completed_on",
    "agreed_on",
    "date_from",
    "date_to",
}
MONEY_NAMES = {"value", "daily_rate", "target_value"}
# Fields whose value is the id of a record or of a reference row, with the ids tried.
ID_NAMES = {
    "commune",
    "district",
    "agency",
    "enterprise",
    "category",
    "visit",
    "plan_item",
    "plan_items",
}
MONEY_NOISE = re.compile(r"(?i)\s|đồng|đ|vnd")


# --- Strategies ---------------------------------------------------------------------------------


def dates_typed():
    formats = ["%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d", "%d-%m-%Y", "%m/%d/%Y"]
    return st.one_of(
        st.tuples(
            st.dates(min_value=date(1990, 1, 1), max_value=date(2035, 12, 31)),
            st.sampled_from(formats),
        ).map(lambda pair: pair[0].strftime(pair[1])),
        st.dates(min_value=date(2016, 6, 1), max_value=date.today()).map(
            lambda day: day.strftime("%d/%m/%Y")
        ),
        st.sampled_from(["31/02/2024", "00/00/0000", "32/13/2024", "1/1/1", ""]),
    )


def money_typed():
    whole = st.one_of(
        st.integers(min_value=1, max_value=10**12),
        st.integers(min_value=-(10**6), max_value=10**22),
    )
    return st.one_of(
        whole.map(str),
        whole.map(lambda n: f"{n:,}".replace(",", ".")),  # 1.500.000
        whole.map(lambda n: f"{n:,} đ".replace(",", ".")),
        whole.map(lambda n: f"{n:,}"),  # 1,500,000 (the English way)
        st.tuples(whole, st.integers(1, 99)).map(lambda t: f"{t[0]}.{t[1]}"),
        st.tuples(whole, st.integers(1, 99)).map(lambda t: f"{t[0]},{t[1]}"),
        st.tuples(whole, st.integers(1, 9)).map(lambda t: f"{t[0]:,}.{t[1]}0".replace(",", ".")),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.text(alphabet=string.digits + ".,- đ", max_size=25),
    )


def text_typed():
    return st.one_of(
        st.text(max_size=300),
        st.text(alphabet="Đđ ăâêôơưáàảãạ" + string.ascii_letters, min_size=1, max_size=60),
        st.sampled_from(HOSTILE),
    )


def ids_for(world, name: str) -> list[str]:
    a, b = world.a, world.b
    pools = {
        "commune": [a.commune.pk, b.commune.pk],
        "district": [a.commune.parent_id, b.commune.parent_id],
        "agency": [a.agency.pk, b.agency.pk],
        "enterprise": [a.enterprise.pk, b.enterprise.pk],
        "visit": [r.pk for r in a.records[Visit] + b.records[Visit]],
        "plan_item": [r.pk for r in a.records[PlanItem] + b.records[PlanItem]],
        "plan_items": [r.pk for r in a.records[PlanItem] + b.records[PlanItem]],
    }
    return [str(pk) for pk in pools.get(name, [])] + ["", "0", "abc", str(10**20)]


def field_strategy(world, form_field: Field):
    name = form_field.name
    base = name.removesuffix("_text")
    options = [value for value in form_field.options if value is not None]
    plausible = None
    if name == "version":
        plausible = st.sampled_from(["CURRENT"] * 4 + ["0", "-1", "abc", ""])
    elif name == "files" or form_field.type == "file":
        plausible = st.one_of(
            st.none(),
            st.binary(max_size=300).map(lambda data: SimpleUploadedFile("x.pdf", data)),
            st.just(None).map(lambda _: SimpleUploadedFile("ok.pdf", b"%PDF-1.4\n%%EOF\n")),
        )
    elif form_field.type in ("checkbox", "radio"):
        plausible = st.sampled_from([*options, ""])
    elif options:
        plausible = (
            st.lists(st.sampled_from(options), max_size=3)
            if form_field.multiple
            else st.sampled_from(options + ids_for(world, base))
        )
    elif base in ID_NAMES:
        plausible = st.sampled_from(ids_for(world, base))
    elif name in DATE_NAMES:
        plausible = dates_typed()
    elif name in MONEY_NAMES:
        plausible = money_typed()
    elif form_field.type == "number" or name in (
        "year",
        "number",
        "participants_count",
        "beneficiaries",
        "workdays",
        "quantity",
        "period_number",
    ):
        plausible = st.one_of(
            st.integers(min_value=-5, max_value=3000).map(str),
            st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
        )
    else:
        plausible = text_typed()
    hostile = st.sampled_from(HOSTILE)
    if name in ("files",):
        return plausible
    return st.one_of(plausible, plausible, plausible, hostile)


def form_strategy(world, fields: dict):
    """A dict of posted values: each field drawn, or left out now and then."""
    parts = {
        name: st.one_of(field_strategy(world, form_field), st.just(None))
        if name != "version"
        # The version is the guard against lost updates: mostly the one shown.
        else field_strategy(world, form_field)
        for name, form_field in fields.items()
        if name != "csrfmiddlewaretoken"
    }
    return st.fixed_dictionaries(parts)


def clean(data: dict) -> dict:
    return {key: value for key, value in data.items() if value is not None}


# --- Invariants ---------------------------------------------------------------------------------


def whole_dong(value) -> bool:
    return value is None or (value == value.to_integral_value() and value >= 0)


def assert_money_whole():
    for value, rate in Contribution.objects.values_list("value", "daily_rate"):
        assert whole_dong(value) and whole_dong(rate), (value, rate)
    for (target,) in PlanItem.objects.values_list("target_value"):
        assert whole_dong(target), target


def typed_whole_dong(typed) -> Decimal | None:
    """What a person meant by an amount typed the Vietnamese way, or None if it is not one."""
    if not isinstance(typed, str):
        return None
    text = MONEY_NOISE.sub("", typed)
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
        text = text.replace(".", "")
    return Decimal(text) if re.fullmatch(r"\d+", text) else None


def b_counts(world) -> dict:
    commune = world.b.commune
    return {
        model.__name__: model.objects.filter(commune=commune).count()
        for model in (Visit, Difficulty, Contribution, Plan)
    } | {"PlanItem": PlanItem.objects.filter(plan__commune=commune).count()}


def post(client: Client, path: str, data: dict):
    try:
        response = client.post(path, data)
    except Exception as error:  # noqa: BLE001 (the 500 a user would get)
        raise AssertionError(f"POST {path} {data!r:.600} raised {error!r}") from error
    assert response.status_code < 500, (path, data)
    return response


# --- The forms ----------------------------------------------------------------------------------


def _a(world, model):
    return world.a.records[model][0]


FORMS = {
    # id: (who, page showing the form, the model a valid post adds to or the record it edits)
    "visit_new": ("liaison", lambda w: "/visits/new/", Visit, None),
    "visit_edit": ("liaison", lambda w: f"/visits/{_a(w, Visit).pk}/edit/", None, Visit),
    "difficulty_new": ("officer", lambda w: "/difficulties/new/", Difficulty, None),
    "difficulty_status": (
        "officer",
        lambda w: f"/difficulties/{_a(w, Difficulty).pk}/edit/",
        None,
        Difficulty,
    ),
    "contribution_new": ("liaison", lambda w: "/contributions/new/", Contribution, None),
    "contribution_new_enterprise": ("rep", lambda w: "/contributions/new/", Contribution, None),
    "contribution_edit": (
        "liaison",
        lambda w: f"/contributions/{_a(w, Contribution).pk}/edit/",
        None,
        Contribution,
    ),
    "plan_new": ("officer", lambda w: "/plans/new/", Plan, None),
    "plan_item_add": ("liaison", lambda w: f"/plans/{_a(w, Plan).pk}/", PlanItem, None),
    "plan_item_edit": (
        "liaison",
        lambda w: f"/plans/items/{_a(w, PlanItem).pk}/edit/",
        None,
        PlanItem,
    ),
    "plan_status": ("officer", lambda w: f"/plans/{_a(w, Plan).pk}/edit/", None, Plan),
    "report_new": ("liaison", lambda w: "/reports/new/", PeriodReport, None),
}


def _contribution_base(world, contributor: str) -> dict:
    from programme.models import ContributionCategory

    base = {
        "date": "15/03/2024",
        "commune": str(world.a.commune.pk),
        "category": str(ContributionCategory.objects.get(code="roads").pk),
        "form": "cash",
        "description": "Xi măng làm đường",
        "status": "delivered",
        "beneficiaries": "0",
    }
    base[contributor] = str(getattr(world.a, contributor).pk)
    return base


# Valid posts of the forms that create a record: a third of the examples start from one, with
# the amounts drawn and a field or two replaced, so that saves (and the money check) happen.
BASELINES = {
    "contribution_new": lambda w: _contribution_base(w, "agency"),
    "contribution_new_enterprise": lambda w: _contribution_base(w, "enterprise"),
    "plan_item_add": lambda w: {
        "area": "ntm",
        "title": "Làm đường",
        "period_kind": "year",
        "responsible": "commune",
        "status": "planned",
    },
}


def mostly_valid(world, fields: dict, baseline: dict):
    names = sorted(name for name in fields if name != "csrfmiddlewaretoken")
    drawn = form_strategy(world, fields)
    replaced = st.sets(st.sampled_from(names), max_size=2)

    def merge(pair):
        values, chosen = pair
        merged = {**baseline, **{name: values[name] for name in MONEY_NAMES if name in values}}
        merged.update({name: values[name] for name in chosen})
        return merged

    return st.tuples(drawn, replaced).map(merge)


def user_for(world, who: str):
    return {"liaison": world.a.liaison, "officer": world.a.officer, "rep": world.a.rep}[who]


@pytest.fixture
def world(access_world):
    return access_world


@pytest.mark.parametrize("form_id", list(FORMS))
def test_fuzz_form(world, form_id):
    who, page, adds_to, edits = FORMS[form_id]
    client = Client()
    client.force_login(user_for(world, who))
    path = page(world)
    response = client.get(path)
    assert response.status_code == 200, path
    fields = main_post_form(response.content.decode(), path).fields
    assert fields, path
    edited = _a(world, edits) if edits else None
    seen = {"saved": 0, "refused": 0}

    strategy = form_strategy(world, fields)
    if edited is not None:
        # An edit form shows the record's values: posting them back (some changed) is valid.
        shown = {name: f.value for name, f in fields.items() if f.value and name != "version"}
        shown["version"] = "CURRENT"
        strategy = st.one_of(strategy, mostly_valid(world, fields, shown))
    elif form_id in BASELINES:
        strategy = st.one_of(strategy, mostly_valid(world, fields, BASELINES[form_id](world)))

    @settings(PROFILE)
    @given(data=strategy)
    def one(data):
        data = clean(data)
        if data.get("version") == "CURRENT":
            if edited is None:
                data.pop("version")
            else:
                data["version"] = str(type(edited).objects.get(pk=edited.pk).version)
        before_b = b_counts(world)
        count = adds_to.objects.count() if adds_to else None
        stored = model_to_dict(type(edited).objects.get(pk=edited.pk)) if edited else None
        response = post(client, path, data)
        saved = response.status_code == 302
        seen["saved" if saved else "refused"] += 1
        assert b_counts(world) == before_b, f"{form_id} added to side B's commune: {data!r:.300}"
        if adds_to is not None and not saved:
            assert adds_to.objects.count() == count, f"half-saved: {data!r:.300}"
        if edited is not None and not saved:
            now = model_to_dict(type(edited).objects.get(pk=edited.pk))
            assert now == stored, f"a refused edit changed the record: {data!r:.300}"
        assert_money_whole()
        if saved and adds_to is Contribution:
            latest = Contribution.objects.latest("pk")
            if latest.form != Contribution.Form.LABOUR:
                meant = typed_whole_dong(data.get("value"))
                assert meant is not None and latest.value == meant, (
                    data.get("value"),
                    latest.value,
                )
        if saved and edits is Contribution:
            latest = Contribution.objects.get(pk=edited.pk)
            if latest.form != Contribution.Form.LABOUR and "value" in data:
                meant = typed_whole_dong(data["value"])
                assert meant is not None and latest.value == meant, (data["value"], latest.value)
        # A blank target (spaces included) is no target: the form stores 0.
        typed_target = (data.get("target_value") or "").strip()
        if saved and form_id in ("plan_item_add", "plan_item_edit") and typed_target:
            item = PlanItem.objects.latest("pk") if form_id == "plan_item_add" else edited
            item.refresh_from_db()
            meant = typed_whole_dong(data["target_value"])
            assert meant is not None and item.target_value == meant, data["target_value"]

    one()
    print(f"{form_id}: {seen}")  # shown with -s (make fuzz ARGS=-s)
    assert seen["refused"] > 0  # the hostile values were refused, not ignored
    assert seen["saved"] + seen["refused"] >= PROFILE.max_examples


def test_fuzz_contribution_confirm(world):
    """The commune's confirmation: only a version number is posted."""
    client = Client()
    client.force_login(world.a.officer)
    gift = _a(world, Contribution)
    page = client.get(f"/contributions/{gift.pk}/").content.decode()
    action = f"/contributions/{gift.pk}/confirm/"
    assert any(form.action == action for form in forms_of(page))

    @settings(PROFILE)
    @given(version=st.one_of(st.sampled_from(HOSTILE), st.integers().map(str), st.just(None)))
    def one(version):
        response = post(client, action, {} if version is None else {"version": version})
        assert response.status_code == 302

    one()


# --- The filters --------------------------------------------------------------------------------

LIST_PAGES = [
    "/visits/",
    "/difficulties/",
    "/contributions/",
    "/plans/items/",
    "/reports/",
    "/dashboard/",
    "/completeness/",
    "/exports/contributions/",
    "/communes/",
    "/imports/",
]


def get_form_fields(html: str) -> dict:
    fields = {}
    for form in forms_of(html):
        if form.method == "get":
            fields.update(form.fields)
    return fields


@pytest.mark.parametrize("path", LIST_PAGES)
def test_fuzz_filters(world, path):
    client = Client()
    client.force_login(world.staff)
    response = client.get(path)
    if response.status_code == 404 and path == "/imports/":
        pytest.skip("no import pages in this checkout")
    assert response.status_code == 200, path
    fields = get_form_fields(response.content.decode())
    for name in ("page", "sort", "_export"):
        fields.setdefault(name, Field(name=name, tag="input"))
    fields.pop("csrfmiddlewaretoken", None)
    assert len(fields) >= 2, path

    examples = []

    @settings(PROFILE)
    @given(query=form_strategy(world, fields))
    def one(query):
        examples.append(1)
        query = {
            key: value
            for key, value in clean(query).items()
            if not isinstance(value, SimpleUploadedFile)
        }
        try:
            response = client.get(path, query)
        except Exception as error:  # noqa: BLE001 (the 500 a user would get)
            raise AssertionError(f"GET {path} {query!r:.600} raised {error!r}") from error
        assert response.status_code in (200, 302, 400), (path, query, response.status_code)

    one()
    print(f"{path}: {len(examples)} examples")  # shown with -s (make fuzz ARGS=-s)
    assert len(examples) >= PROFILE.max_examples
