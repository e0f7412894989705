"""The audit trail cannot be changed through the admin, not even by a superuser.

Every model registered in the admin is either part of the audit trail (read-only) or editable
on purpose; a newly registered model fails `test_every_registered_model_is_classified` until it
is put in one of the two lists, so an audit model cannot slip in with edit rights.
"""

import datetime

import pytest
from axes.models import AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.forms.models import model_to_dict
from django.urls import reverse
from simple_history.models import HistoricalChanges

from programme.imports.models import ImportedRecord, ImportJob
from programme.models import RollupOutbox
from reports.models import RollupWrite
from tests.factories import AgencyFactory, CommuneFactory, ContributionFactory, UserFactory

pytestmark = pytest.mark.django_db

# Who did what, when and why: never added, changed or deleted in the admin. Historical models of
# django-simple-history count as audit models wherever they are.
AUDIT_TRAIL = {
    "reports.RollupWrite",
    "programme.ImportJob",
    "programme.ImportedRecord",
    "axes.AccessLog",
    "axes.AccessFailureLog",
    # Not a log, but the pending work of the rollups: read-only for the same reason.
    "programme.RollupOutbox",
}
# Edited in the admin on purpose; each write there leaves a history row with its reason
# (communes.admin_history.HistoryAdmin), or is configuration of Django and its add-ons.
EDITABLE = {
    "auth.Group",
    "auth.User",  # never deleted: see test_a_user_is_never_deleted_through_the_admin
    "axes.AccessAttempt",  # lockout counters: deleting one lets a locked-out user in again
    "communes.AdminUnit",
    "communes.CriteriaSet",
    "communes.Criterion",
    "communes.CriterionAssessment",
    "communes.Designation",
    "communes.NtmRecognition",
    "communes.Programme",
    "communes.Succession",
    "django_celery_beat.ClockedSchedule",
    "django_celery_beat.CrontabSchedule",
    "django_celery_beat.IntervalSchedule",
    "django_celery_beat.PeriodicTask",
    "django_celery_beat.SolarSchedule",
    "partners.Agency",
    "partners.Assignment",
    "partners.Enterprise",
    "partners.Membership",
    "partners.Twinning",
    "programme.Contribution",
    "programme.ContributionCategory",
    "programme.Difficulty",
    "programme.Plan",
    "programme.Visit",
}


def is_audit(model) -> bool:
    return issubclass(model, HistoricalChanges) or model._meta.label in AUDIT_TRAIL


def registered_audit_models() -> list:
    return sorted(
        (model for model in admin.site._registry if is_audit(model)),
        key=lambda model: model._meta.label,
    )


def _import_job():
    job = ImportJob(
        kind="contributions",
        status=ImportJob.Status.DONE,
        original_name="dong_gop.xlsx",
        size=4,
        sha256="0" * 64,
        created_by=UserFactory(),
        message="3 records imported",
    )
    job.file.save("dong_gop.xlsx", ContentFile(b"test"), save=False)  # in media_root
    job.save()
    return job


# One row of each audit model, to try the change and delete pages on.
ROW_MAKERS = {
    "reports.RollupWrite": lambda: RollupWrite.objects.create(
        kind="drain", trigger="on_commit", reason="records_changed", outcome="done", total=3
    ),
    "programme.ImportJob": _import_job,
    "programme.ImportedRecord": lambda: ImportedRecord.objects.create(
        job=_import_job(),
        content_type_id=1,
        object_id=1,
        action="created",
        row=2,
    ),
    "axes.AccessLog": lambda: AccessLog.objects.create(
        username="lien_lac", ip_address="192.0.2.1", user_agent="t", path_info="/login/"
    ),
    "axes.AccessFailureLog": lambda: AccessFailureLog.objects.create(
        username="lien_lac", ip_address="192.0.2.1", user_agent="t", path_info="/login/"
    ),
    "programme.RollupOutbox": lambda: RollupOutbox.objects.create(
        kind="visit", commune_id=1, day=datetime.date(2025, 3, 10)
    ),
}


def test_every_registered_model_is_classified():
    labels = {model._meta.label for model in admin.site._registry}
    unknown = sorted(
        model._meta.label
        for model in admin.site._registry
        if not is_audit(model) and model._meta.label not in EDITABLE
    )
    assert not unknown, (
        f"{unknown} registered in the admin: add each to AUDIT_TRAIL (and give its admin "
        "programme.admin_audit.AuditTrailAdmin) or, if editing it is meant, to EDITABLE"
    )
    assert not (labels & EDITABLE & AUDIT_TRAIL)


def test_the_audit_models_are_in_the_admin():
    labels = {model._meta.label for model in registered_audit_models()}
    assert {"reports.RollupWrite", "programme.ImportJob", "axes.AccessLog"} <= labels


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _snapshot(model, pk) -> dict | None:
    row = model._default_manager.filter(pk=pk).first()
    return None if row is None else model_to_dict(row)


@pytest.mark.parametrize("model", registered_audit_models(), ids=lambda model: model._meta.label)
def test_a_superuser_cannot_add_change_or_delete_audit_rows(admin_client, media_root, model):
    label = model._meta.label
    assert label in ROW_MAKERS, f"add a row maker for {label} to ROW_MAKERS"
    row = ROW_MAKERS[label]()
    before = _snapshot(model, row.pk)
    count = model._default_manager.count()
    # Any field the change form could post: the values of the row, with the texts changed.
    edited = {
        name: ("changed" if isinstance(value, str) else value)
        for name, value in before.items()
        if value is not None
    }

    assert admin_client.get(_url(model, "add")).status_code == 403
    assert admin_client.post(_url(model, "add"), edited).status_code == 403

    page = admin_client.get(_url(model, "change", row.pk), follow=True)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b'name="_continue"' not in page.content
    assert admin_client.post(_url(model, "change", row.pk), edited).status_code in (302, 403)

    assert admin_client.get(_url(model, "delete", row.pk)).status_code == 403
    assert admin_client.post(_url(model, "delete", row.pk), {"post": "yes"}).status_code == 403

    bulk = {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    admin_client.post(_url(model, "changelist"), bulk)

    assert _snapshot(model, row.pk) == before
    assert model._default_manager.count() == count


def test_the_rollup_writes_list_filters_and_searches(admin_client):
    staff = UserFactory(username="ban_to_chuc")
    RollupWrite.objects.create(
        kind="rebuild", trigger="user", user=staff, reason="requested", outcome="failed"
    )
    RollupWrite.objects.create(
        kind="drain", trigger="on_commit", reason="records_changed", outcome="done"
    )
    url = _url(RollupWrite, "changelist")
    page = admin_client.get(url, {"kind": "rebuild", "outcome": "failed"})
    assert page.status_code == 200
    assert [write.kind for write in page.context["cl"].result_list] == ["rebuild"]
    found = admin_client.get(url, {"q": "ban_to_chuc"}).context["cl"].result_list
    assert [write.user for write in found] == [staff]
    assert b"delete_selected" not in page.content


def test_a_user_is_never_deleted_through_the_admin(admin_client):
    """Deleting a user would erase their name from every history row (history_user: NULL)."""
    liaison = UserFactory(username="lien_lac_cu")
    contribution = ContributionFactory.build(commune=CommuneFactory(), agency=AgencyFactory())
    contribution._history_user = liaison
    contribution.save()
    model = get_user_model()
    assert admin_client.get(_url(model, "delete", liaison.pk)).status_code == 403
    assert admin_client.post(_url(model, "delete", liaison.pk), {"post": "yes"}).status_code == 403
    assert contribution.history.get().history_user == liaison
