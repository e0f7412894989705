"""Refused accesses go to the `security` logger with user, IP and path: a record outside the
user's scope (404), a record visible but not changeable (403), a form without its CSRF token."""

import logging

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

IP = "192.0.2.44"


def security_events(caplog):
    return [r for r in caplog.records if r.name == "security"]


@pytest.fixture
def visit(world):
    return VisitFactory(commune=world.commune1, agency=world.agency_a)


def test_a_record_outside_the_scope_is_logged_as_not_found(client, world, visit, caplog):
    caplog.set_level(logging.INFO, logger="security")
    client.force_login(world.liaison_b)
    url = reverse("programme:visit_detail", args=[visit.pk])
    assert client.get(url, REMOTE_ADDR=IP).status_code == 404
    (record,) = [r for r in security_events(caplog) if r.event == "not_found"]
    assert (record.user, record.ip, record.path, record.status) == ("lien_lac_b", IP, url, 404)
    assert record.levelno == logging.WARNING
    assert f"not_found user=lien_lac_b ip={IP} method=GET path={url}" in record.getMessage()


def test_a_read_only_record_is_logged_as_refused(client, world, visit, caplog):
    caplog.set_level(logging.INFO, logger="security")
    client.force_login(world.officer)  # sees the commune's visits, may not change them
    url = reverse("programme:visit_edit", args=[visit.pk])
    assert client.post(url, {}, REMOTE_ADDR=IP).status_code == 403
    refused = [r for r in security_events(caplog) if r.event == "access_refused"]
    assert [(r.user, r.ip, r.path, r.status) for r in refused] == [("can_bo_xa", IP, url, 403)]


def test_an_anonymous_refusal_names_no_user(client, world, visit, caplog):
    caplog.set_level(logging.INFO, logger="security")
    response = client.get(reverse("programme:visit_list"), REMOTE_ADDR=IP)
    assert response.status_code == 302  # to the login page: not a refusal, nothing logged
    assert [r.event for r in security_events(caplog)] == []


def test_a_csrf_failure_is_logged_and_explained(world, caplog):
    caplog.set_level(logging.INFO, logger="security")
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.liaison_a)
    caplog.clear()
    url = reverse("programme:visit_new")
    response = client.post(url, {"summary": "x"}, REMOTE_ADDR=IP)
    assert response.status_code == 403
    page = response.content.decode()
    assert "Biểu mẫu đã hết hạn" in page
    assert "Chưa có gì được lưu" in page
    events = [(r.event, r.user, r.ip, r.path) for r in security_events(caplog)]
    assert events == [("csrf_failure", "lien_lac_a", IP, url)]  # once, not also as a 403
    assert "CSRF" in security_events(caplog)[0].reason
