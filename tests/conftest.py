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
