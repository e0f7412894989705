import pytest

from tests.factories import UserFactory


@pytest.fixture
def admin_user(db):
    """A superuser who logs in with password "password"."""
    return UserFactory(username="quantri", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Data the migrations seed is flushed by browser tests; a reused test database gets it back."""
    from programme.categories import categories_seed
    from programme.models import ContributionCategory

    with django_db_blocker.unblock():
        categories_seed(ContributionCategory)
