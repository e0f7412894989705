"""programme.validation decides in Python what Django would ask PostgreSQL, and decides it the
same way; the wake of the rollup worker queues one drain at a time."""

import datetime
import itertools
import random
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import CheckConstraint, Q
from django.test.utils import CaptureQueriesContext

from programme import services
from programme.categories import categories_seed
from programme.models import Contribution, ContributionCategory, Visit
from programme.validation import InMemoryValidation, Unsupported, _InMemoryCheck, evaluate
from tests.factories import AgencyFactory, AssignmentFactory, CommuneFactory, UserFactory

pytestmark = pytest.mark.django_db

CHECKED_MODELS = [model for model in apps.get_models() if issubclass(model, InMemoryValidation)]
CONSTRAINTS = [
    pytest.param(model, constraint, id=f"{model.__name__}.{constraint.name}")
    for model in CHECKED_MODELS
    for constraint in model._meta.constraints
    if isinstance(constraint, CheckConstraint)
]


def _referenced(condition: Q) -> list[str]:
    names = []
    for child in condition.children:
        for name in _referenced(child) if isinstance(child, Q) else [child[0].split("__")[0]]:
            if name not in names:
                names.append(name)
    return names


def _samples(field: models.Field) -> list:
    """Values that sit on each side of the bounds and choices our constraints name."""
    values: list = [None] if field.null else []
    if field.choices:
        return values + [value for value, _label in field.flatchoices] + ["", "other"]
    if isinstance(field, models.ForeignKey):
        return values + [1]
    if isinstance(field, models.DecimalField):
        return (
            values
            + [Decimal(n) for n in ("-1", "0", "0.5", "1", "1000000000000", "1e12")]
            + [Decimal("1000000000001")]
        )
    if isinstance(field, models.IntegerField):
        return values + [-1, 0, 1, 4, 5, 12, 13]
    if isinstance(field, models.DateField):
        return values + [datetime.date(2025, 3, 10)]
    if isinstance(field, models.BooleanField):
        return values + [True, False]
    return values + ["", "x"]


@pytest.mark.parametrize(("model", "constraint"), CONSTRAINTS)
def test_every_check_constraint_is_decided_in_python_as_postgresql_decides_it(model, constraint):
    names = _referenced(constraint.condition)
    fields = [model._meta.get_field(name) for name in names]
    combinations = list(itertools.product(*(_samples(field) for field in fields)))
    random.Random(constraint.name).shuffle(combinations)
    assert combinations
    for values in combinations[:400]:
        instance = model()
        for field, value in zip(fields, values, strict=True):
            setattr(instance, field.attname, value)
        in_python = evaluate(constraint.condition, instance)  # never Unsupported for ours
        in_postgresql = Q(constraint.condition).check(
            instance._get_field_expression_map(meta=model._meta)
        )
        assert (in_python is not False) == in_postgresql, (constraint.name, values)


def test_a_condition_python_cannot_decide_goes_to_postgresql():
    constraint = CheckConstraint(condition=Q(value__gt=models.F("daily_rate")), name="probe")
    contribution = Contribution(value=Decimal(5), daily_rate=Decimal(9))
    with pytest.raises(Unsupported):
        evaluate(constraint.condition, contribution)
    with CaptureQueriesContext(connection) as queries, pytest.raises(ValidationError):
        _InMemoryCheck(constraint).validate(Contribution, contribution)
    assert any('"_check"' in query["sql"] for query in queries.captured_queries)


@pytest.fixture
def field():
    categories_seed(ContributionCategory)  # a transactional test may start from a flushed database
    commune = CommuneFactory()
    agency = AgencyFactory()
    AssignmentFactory(agency=agency, commune=commune, start_date=datetime.date(2016, 6, 1))
    return commune, agency


def _contribution(field, **changes) -> Contribution:
    commune, agency = field
    roads = ContributionCategory.objects.get(code="roads")
    values = {
        "date": datetime.date(2025, 3, 10),
        "commune": commune,
        "agency": agency,
        "category": roads,
        "area": roads.area,
        "form": Contribution.Form.CASH,
        "value": Decimal(7_000_000),
        "description": "Xi măng làm đường thôn",
        "status": Contribution.Status.DELIVERED,
    }
    return Contribution(**{**values, **changes})


def test_full_clean_of_a_contribution_with_loaded_relations_needs_no_query(field):
    contribution = _contribution(field)
    with CaptureQueriesContext(connection) as queries:
        contribution.full_clean()
    # Django alone: 3 foreign key lookups and 6 constraints × (savepoint, check, release).
    assert [query["sql"] for query in queries.captured_queries] == []


def test_rules_still_refuse_what_they_refused(field):
    commune, agency = field
    labour = _contribution(field, form=Contribution.Form.LABOUR, value=Decimal(1_000_000))
    with pytest.raises(ValidationError) as refused:
        labour.full_clean()
    assert {"workdays", "daily_rate"} <= set(refused.value.message_dict)

    visit = Visit(
        commune=commune,
        agency=agency,
        date=datetime.date(2025, 3, 10),
        kind=Visit.Kind.CELL_MEETING,
        village="",
        summary="Dự sinh hoạt chi bộ",
    )
    with pytest.raises(ValidationError):
        visit.full_clean()


def test_a_loaded_unit_of_the_wrong_level_is_still_refused_as_a_commune(field):
    commune, agency = field
    district = commune.parent
    assert district is not None and district.level != "commune"
    visit = Visit(
        commune=district,
        agency=agency,
        date=datetime.date(2025, 3, 10),
        kind=Visit.Kind.SURVEY,
        summary="Khảo sát",
    )
    with pytest.raises(ValidationError) as refused:
        visit.full_clean()
    assert "commune" in refused.value.message_dict


@pytest.mark.django_db(transaction=True)
def test_saves_queue_one_drain_until_it_starts(field, monkeypatch):
    from celery import current_app

    # The key is real Redis; the drains are recorded rather than queued, so that a worker left
    # running by another test cannot take them (and clear the key) in the middle.
    sent = []
    monkeypatch.setattr(current_app, "send_task", lambda name, **kwargs: sent.append(name))
    commune, agency = field
    liaison = UserFactory(is_superuser=True, is_staff=True)
    services.rollups_wake_done()
    before = 0

    def _queued_drains() -> int:
        return sent.count("reports.drain_outbox")

    def save(summary: str) -> None:  # its own transaction, committed: the wake runs on commit
        with transaction.atomic():
            services.visit_record(
                user=liaison,
                commune=commune,
                agency=agency,
                date=datetime.date(2025, 3, 10),
                kind=Visit.Kind.SURVEY,
                summary=summary,
            )

    save("một")
    save("hai")  # the first drain has not started: it will see this one too
    assert _queued_drains() == before + 1
    services.rollups_wake_done()  # what the drain task does first
    save("ba")
    assert _queued_drains() == before + 2
    services.rollups_wake_done()
