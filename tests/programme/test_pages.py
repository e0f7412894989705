import pytest


@pytest.mark.django_db
def test_home_redirects_anonymous_users_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_login_page_is_in_vietnamese_by_default(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert 'lang="vi"' in response.content.decode()


def test_ids_and_years_print_without_a_thousand_separator():
    from django.template import Context, Template
    from django.utils import translation

    template = Template("{{ pk }} {{ year }} {% load vn %}{{ amount|vnd }}")
    with translation.override("vi"):
        rendered = template.render(Context({"pk": 1306, "year": 2026, "amount": 1500000}))
    assert rendered == "1306 2026 1.500.000 đ"
