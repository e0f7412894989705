"""The `any` lookup (programme.lookups): the rows of `__in`, with one array parameter."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from communes.models import AdminUnit, Designation
from tests.factories import CommuneFactory, DesignationFactory

pytestmark = pytest.mark.django_db


def test_any_finds_what_in_finds_on_keys_and_foreign_keys():
    communes = [CommuneFactory() for _ in range(5)]
    for commune in communes[:3]:
        DesignationFactory(commune=commune)
    wanted = {communes[0].pk, communes[2].pk, communes[4].pk}

    by_any = set(AdminUnit.objects.filter(pk__any=wanted).values_list("pk", flat=True))
    assert (
        by_any
        == wanted
        == set(AdminUnit.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    )
    for lookup in ("commune__any", "commune_id__any"):
        found = set(
            Designation.objects.filter(**{lookup: wanted}).values_list("commune", flat=True)
        )
        assert found == {communes[0].pk, communes[2].pk}


def test_any_sends_one_array_parameter():
    ids = list(range(1, 3001))
    sql, params = AdminUnit.objects.filter(pk__any=ids).query.sql_with_params()
    assert "= ANY(%s::bigint[])" in sql
    assert params == (ids,)


def test_any_of_nothing_finds_nothing_without_asking_the_database():
    CommuneFactory()
    with CaptureQueriesContext(connection) as queries:
        assert list(AdminUnit.objects.filter(pk__any=[])) == []
    assert len(queries) == 0
