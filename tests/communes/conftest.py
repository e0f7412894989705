import pytest
from django.db import transaction

from communes.loader import admin_units_load


@pytest.fixture(scope="module")
def ninh_binh(django_db_setup, django_db_blocker):
    """Ninh Bình loaded once for the module; everything is rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield admin_units_load(province="Ninh Bình")
        transaction.set_rollback(True)
