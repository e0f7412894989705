"""Agreeing a plan and attaching files to an existing record, through the pages."""

import datetime

import pytest
from django.utils import timezone

from programme import services
from programme.models import Attachment, Plan, Visit

pytestmark = pytest.mark.django_db


def _visit(world) -> Visit:
    return services.visit_record(
        user=world.liaison_a,
        commune=world.commune1,
        agency=world.agency_a,
        date=timezone.localdate() - datetime.timedelta(days=5),
        kind=Visit.Kind.SURVEY,
        summary="Khảo sát đường trục thôn",
    )


def _plan(world) -> Plan:
    return services.plan_create(
        user=world.officer, commune=world.commune1, year=timezone.localdate().year
    )


def test_the_commune_agrees_its_plan(client, world):
    plan = _plan(world)
    client.force_login(world.officer)
    agreed = (timezone.localdate() - datetime.timedelta(days=1)).strftime("%d/%m/%Y")
    response = client.post(
        f"/plans/{plan.pk}/edit/",
        {"status": "agreed", "agreed_on": agreed, "note": "", "version": plan.version},
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == Plan.Status.AGREED and plan.agreed_on is not None


def test_an_agreed_plan_needs_its_date(client, world):
    plan = _plan(world)
    client.force_login(world.officer)
    response = client.post(
        f"/plans/{plan.pk}/edit/",
        {"status": "agreed", "agreed_on": "", "note": "", "version": plan.version},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "agreed_on" in response.context["form"].errors
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT


def test_an_outsider_cannot_open_the_plan_form(client, world):
    plan = _plan(world)
    client.force_login(world.liaison_b)
    assert client.get(f"/plans/{plan.pk}/edit/").status_code == 404


def test_the_enterprise_may_read_but_not_agree_the_plan(client, world):
    plan = _plan(world)  # the world twins the enterprise with commune 1
    client.force_login(world.rep)
    assert client.get(f"/plans/{plan.pk}/").status_code == 200
    assert client.get(f"/plans/{plan.pk}/edit/").status_code == 403


def test_a_liaison_attaches_a_photo_to_their_visit(client, world, media_root, upload):
    visit = _visit(world)
    client.force_login(world.liaison_a)
    response = client.post(
        f"/attachments/add/visit/{visit.pk}/", {"files": [upload("anh.png", "png")]}
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get(visit=visit)
    assert attachment.content_type == "image/png"
    assert attachment.original_name == "anh.png"


def test_a_file_of_the_wrong_type_is_refused_and_nothing_is_stored(
    client, world, media_root, upload
):
    visit = _visit(world)
    client.force_login(world.liaison_a)
    response = client.post(
        f"/attachments/add/visit/{visit.pk}/", {"files": [upload("anh.jpg", "text")]}, follow=True
    )
    assert response.status_code == 200
    assert not Attachment.objects.exists()
    assert not any(path.is_file() for path in media_root.rglob("*"))


def test_a_read_only_user_gets_403_when_attaching(client, world, media_root, upload):
    visit = _visit(world)
    client.force_login(world.officer)
    response = client.post(
        f"/attachments/add/visit/{visit.pk}/", {"files": [upload("anh.png", "png")]}
    )
    assert response.status_code == 403
    assert not Attachment.objects.exists()


def test_an_outsider_gets_404_when_attaching(client, world, media_root, upload):
    visit = _visit(world)
    client.force_login(world.liaison_b)
    response = client.post(
        f"/attachments/add/visit/{visit.pk}/", {"files": [upload("anh.png", "png")]}
    )
    assert response.status_code == 404


def test_an_unknown_kind_of_record_is_404(client, world):
    client.force_login(world.staff)
    assert client.post("/attachments/add/user/1/").status_code == 404


def test_attaching_needs_a_post(client, world):
    visit = _visit(world)
    client.force_login(world.liaison_a)
    assert client.get(f"/attachments/add/visit/{visit.pk}/").status_code == 405
