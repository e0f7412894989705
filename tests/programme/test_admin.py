"""Corrections to work records in the admin: a reason, a new version, a queued rollup refresh."""

import pytest
from django.urls import reverse

from programme.models import Contribution, RollupOutbox
from tests.factories import ContributionFactory

pytestmark = pytest.mark.django_db


def _form(contribution, **changes):
    data = {
        "date": contribution.date.strftime("%d/%m/%Y"),
        "commune": contribution.commune_id,
        "agency": contribution.agency_id or "",
        "enterprise": contribution.enterprise_id or "",
        "area": contribution.area,
        "category": contribution.category_id,
        "form": contribution.form,
        "value": str(contribution.value),
        "beneficiaries": contribution.beneficiaries,
        "description": contribution.description,
        "status": contribution.status,
        "attachments-TOTAL_FORMS": "0",
        "attachments-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_a_correction_needs_a_reason(admin_client):
    contribution = ContributionFactory(value=1_000_000)
    url = reverse("admin:programme_contribution_change", args=[contribution.pk])
    response = admin_client.post(url, _form(contribution, value="2000000"))
    assert response.status_code == 200
    assert "change_reason" in response.context["adminform"].form.errors
    contribution.refresh_from_db()
    assert contribution.value == 1_000_000


def test_a_correction_is_a_new_version_with_its_reason_and_a_queued_refresh(admin_client):
    contribution = ContributionFactory(value=1_000_000)
    RollupOutbox.objects.all().delete()
    url = reverse("admin:programme_contribution_change", args=[contribution.pk])
    response = admin_client.post(
        url, _form(contribution, value="2000000", change_reason="Sửa theo biên bản")
    )
    assert response.status_code == 302
    contribution = Contribution.objects.get(pk=contribution.pk)
    assert contribution.value == 2_000_000
    assert contribution.version == 2
    assert contribution.history.first().history_change_reason == "Sửa theo biên bản"
    assert RollupOutbox.objects.filter(
        kind="contribution", commune_id=contribution.commune_id
    ).exists()


def test_the_outbox_is_read_only_in_the_admin(admin_client):
    assert admin_client.get(reverse("admin:programme_rollupoutbox_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:programme_rollupoutbox_add")).status_code == 403
