import datetime

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from communes.admin_history import HistoryAdmin
from communes.models import AdminUnit, Programme, Succession
from programme.imports.models import ImportJob
from programme.models import RollupOutbox
from reports.models import RollupWrite
from tests.factories import (
    CommuneFactory,
    CriteriaSetFactory,
    CriterionFactory,
    DesignationFactory,
    DistrictFactory,
    ProgrammeFactory,
    UserFactory,
)

REASON = "Sửa theo Nghị quyết 1674/NQ-UBTVQH15"


def form_data(response) -> dict[str, object]:
    """What the admin form on this page would post unchanged: its fields and inline formsets."""
    data: dict[str, object] = {}

    def add(form) -> None:
        for bound in form:
            value = bound.value()
            if value is None or value is False:
                continue
            data[bound.html_name] = "on" if value is True else value

    add(response.context["adminform"].form)
    for inline in response.context.get("inline_admin_formsets", []):
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def history_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_history", args=[obj.pk])


def revert_url(obj, record) -> str:
    name = f"admin:{obj._meta.app_label}_{obj._meta.model_name}_simple_history"
    return reverse(name, args=[obj.pk, record.history_id])


def delete_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_delete", args=[obj.pk])


def rename(admin_client, unit: AdminUnit, name: str, reason: str | None):
    data = form_data(admin_client.get(change_url(unit)))
    data["name"] = name
    if reason is not None:
        data["change_reason"] = reason
    return admin_client.post(change_url(unit), data)


@pytest.fixture
def commune(db):
    return CommuneFactory(name="Chất Bình")


def test_change_without_reason_is_refused(admin_client, commune):
    response = rename(admin_client, commune, "Chất Thành", reason=None)

    assert response.status_code == 200
    assert "change_reason" in response.context["adminform"].form.errors
    commune.refresh_from_db()
    assert commune.name == "Chất Bình"
    assert commune.history.count() == 1


def test_blank_reason_is_refused(admin_client, commune):
    response = rename(admin_client, commune, "Chất Thành", reason="   ")

    assert "change_reason" in response.context["adminform"].form.errors
    commune.refresh_from_db()
    assert commune.name == "Chất Bình"


def test_change_with_reason_records_reason_and_user(admin_client, admin_user, commune):
    response = rename(admin_client, commune, "Chất Thành", reason=REASON)

    assert response.status_code == 302
    latest = commune.history.latest()
    assert latest.name == "Chất Thành"
    assert latest.history_type == "~"
    assert latest.history_change_reason == REASON
    assert latest.history_user == admin_user


def test_add_without_reason_is_refused(admin_client):
    data = {"code": "qd999", "name": "Thử", "started_on": "01/01/2020"}
    response = admin_client.post(reverse("admin:communes_programme_add"), data)

    assert response.status_code == 200
    assert "change_reason" in response.context["adminform"].form.errors
    assert not Programme.objects.filter(code="qd999").exists()


def test_add_with_reason_records_reason(admin_client, admin_user):
    data = {
        "code": "qd999",
        "name": "Thử",
        "started_on": "01/01/2020",
        "cell_meetings_per_month": "1",
        "change_reason": REASON,
    }
    response = admin_client.post(reverse("admin:communes_programme_add"), data)

    assert response.status_code == 302
    record = Programme.objects.get(code="qd999").history.get()
    assert record.history_type == "+"
    assert (record.history_change_reason, record.history_user) == (REASON, admin_user)


def test_inline_rows_carry_the_reason(admin_client, admin_user):
    criteria_set = CriteriaSetFactory()
    data = form_data(admin_client.get(change_url(criteria_set)))
    data.update(
        {
            "criteria-TOTAL_FORMS": "1",
            "criteria-0-number": "7",
            "criteria-0-name": "Cơ sở hạ tầng thương mại nông thôn",
            "change_reason": REASON,
        }
    )

    response = admin_client.post(change_url(criteria_set), data)

    assert response.status_code == 302
    record = criteria_set.criteria.get(number=7).history.get()
    assert (record.history_change_reason, record.history_user) == (REASON, admin_user)


def test_inline_deletion_carries_the_reason(admin_client):
    criterion = CriterionFactory(number=3)
    criteria_set = criterion.criteria_set
    data = form_data(admin_client.get(change_url(criteria_set)))
    data.update({"criteria-0-DELETE": "on", "change_reason": REASON})

    response = admin_client.post(change_url(criteria_set), data)

    assert response.status_code == 302
    assert not criteria_set.criteria.exists()
    record = criterion.history.latest()
    assert (record.history_type, record.history_change_reason) == ("-", REASON)


def test_history_page_lists_reason_and_changed_values(admin_client, commune):
    rename(admin_client, commune, "Chất Thành", reason=REASON)

    response = admin_client.get(history_url(commune))

    assert response.status_code == 200
    content = response.content.decode()
    assert REASON in content
    assert "quantri" in content
    [change] = response.context["page_obj"].object_list[0].history_delta_changes
    assert (change["old"], change["new"]) == ("Chất Bình", "Chất Thành")
    assert "Chất Bình" in content and "Chất Thành" in content


def test_history_page_shows_choice_labels_in_changes(admin_client, commune):
    data = form_data(admin_client.get(change_url(commune)))
    data.update({"kind": AdminUnit.Kind.PHUONG, "change_reason": REASON})
    admin_client.post(change_url(commune), data)

    response = admin_client.get(history_url(commune))

    [change] = response.context["page_obj"].object_list[0].history_delta_changes
    assert (change["old"], change["new"]) == (
        AdminUnit.Kind.XA.label,
        AdminUnit.Kind.PHUONG.label,
    )


def test_revert_restores_old_value_and_records_reason(admin_client, admin_user, commune):
    rename(admin_client, commune, "Chất Thành", reason=REASON)
    original = commune.history.earliest()
    page = admin_client.get(revert_url(commune, original))
    assert 'name="change_reason"' in page.content.decode()
    data = form_data(page)
    data["change_reason"] = "Hoàn tác: đổi tên nhầm"

    response = admin_client.post(revert_url(commune, original), data)

    assert response.status_code == 302
    commune.refresh_from_db()
    assert commune.name == "Chất Bình"
    latest = commune.history.latest()
    assert latest.history_change_reason == "Hoàn tác: đổi tên nhầm"
    assert latest.history_user == admin_user
    assert commune.history.count() == 3


def test_revert_without_reason_is_refused(admin_client, commune):
    rename(admin_client, commune, "Chất Thành", reason=REASON)
    original = commune.history.earliest()
    data = form_data(admin_client.get(revert_url(commune, original)))

    response = admin_client.post(revert_url(commune, original), data)

    assert response.status_code == 200
    assert "change_reason" in response.context["adminform"].form.errors
    commune.refresh_from_db()
    assert commune.name == "Chất Thành"
    assert commune.history.count() == 2


def test_revert_is_forbidden_to_a_view_only_user(client, commune):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_adminunit"))
    client.force_login(viewer)
    original = commune.history.earliest()
    data = {"name": "Tên khác", "level": "commune", "kind": "xa", "change_reason": REASON}

    response = client.post(revert_url(commune, original), data)

    assert response.status_code == 403
    commune.refresh_from_db()
    assert commune.name == "Chất Bình"


def test_view_only_user_sees_the_record_without_a_reason_field(client, commune):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_adminunit"))
    client.force_login(viewer)

    response = client.get(change_url(commune))

    assert response.status_code == 200
    assert "change_reason" not in response.content.decode()


def test_delete_without_reason_is_refused(admin_client, commune):
    response = admin_client.post(delete_url(commune), {"post": "yes"})

    assert response.status_code == 200
    assert "change_reason" in response.context["reason_form"].errors
    assert AdminUnit.objects.filter(pk=commune.pk).exists()


def test_delete_with_reason_records_it_on_cascaded_rows_too(admin_client, admin_user, commune):
    successor = CommuneFactory(parent=commune.parent)
    succession = Succession.objects.create(
        predecessor=commune, successor=successor, effective_date=datetime.date(2025, 7, 1)
    )

    response = admin_client.post(delete_url(commune), {"post": "yes", "change_reason": REASON})

    assert response.status_code == 302
    assert not AdminUnit.objects.filter(pk=commune.pk).exists()
    for record in (commune.history.latest(), succession.history.latest()):
        assert record.history_type == "-"
        assert (record.history_change_reason, record.history_user) == (REASON, admin_user)


def test_delete_page_asks_for_a_reason(admin_client, commune):
    response = admin_client.get(delete_url(commune))

    assert response.status_code == 200
    assert 'name="change_reason"' in response.content.decode()


def test_bulk_delete_action_is_not_offered(admin_client, commune):
    response = admin_client.get(reverse("admin:communes_adminunit_changelist"))

    assert response.status_code == 200
    assert "delete_selected" not in response.content.decode()


def test_changelist_search_ignores_diacritics(admin_client, commune):
    CommuneFactory(name="Gia Hưng")

    response = admin_client.get(reverse("admin:communes_adminunit_changelist"), {"q": "chat binh"})

    assert list(response.context["cl"].result_list) == [commune]


def test_related_changelist_search_ignores_diacritics(admin_client, commune):
    designation = DesignationFactory(commune=commune)
    DesignationFactory(commune=CommuneFactory(name="Gia Hưng"))

    response = admin_client.get(
        reverse("admin:communes_designation_changelist"), {"q": "CHAT BINH"}
    )

    assert list(response.context["cl"].result_list) == [designation]


def test_autocomplete_ignores_diacritics_and_keeps_to_communes(admin_client, commune):
    DistrictFactory(name="Chất Bình Cũ")
    params = {
        "app_label": "communes",
        "model_name": "designation",
        "field_name": "commune",
        "term": "chat binh",
    }

    response = admin_client.get(reverse("admin:autocomplete"), params)

    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(commune.pk)]


def test_missing_successor_filter_lists_ended_communes_without_successor(admin_client, commune):
    ended = CommuneFactory(name="Ninh Xuân", valid_until=datetime.date(2024, 12, 31))
    handled = CommuneFactory(name="Ninh Phong", valid_until=datetime.date(2024, 12, 31))
    Succession.objects.create(
        predecessor=handled, successor=commune, effective_date=datetime.date(2025, 1, 1)
    )

    response = admin_client.get(
        reverse("admin:communes_adminunit_changelist"), {"successor": "missing"}
    )

    assert list(response.context["cl"].result_list) == [ended]


def test_validity_filter_separates_current_and_ended_units(admin_client, commune):
    ended = CommuneFactory(valid_until=datetime.date(2024, 12, 31))
    url = reverse("admin:communes_adminunit_changelist")

    current = admin_client.get(url, {"validity": "current", "level": "commune"})
    past = admin_client.get(url, {"validity": "ended"})

    assert list(current.context["cl"].result_list) == [commune]
    assert list(past.context["cl"].result_list) == [ended]


@pytest.mark.django_db
def test_every_registered_model_changelist_and_add_page_load(admin_client):
    for model, model_admin in admin.site._registry.items():
        info = model._meta.app_label, model._meta.model_name
        changelist = admin_client.get(reverse("admin:{}_{}_changelist".format(*info)))
        assert changelist.status_code == 200, model
        if model_admin.has_add_permission(changelist.wsgi_request):
            add = admin_client.get(reverse("admin:{}_{}_add".format(*info)))
            assert add.status_code == 200, model


def test_every_history_admin_add_form_asks_for_a_reason(admin_client):
    ours = {"communes", "partners", "programme", "reports"}
    registered = {m for m in admin.site._registry if m._meta.app_label in ours}
    history_admins = [m for m, a in admin.site._registry.items() if isinstance(a, HistoryAdmin)]
    # Every model an administrator can write to asks for a reason; the outbox, the record of
    # imports (an import's records carry the import in their own history) and the audit trail
    # of the rollups are read-only.
    assert registered - set(history_admins) == {RollupOutbox, ImportJob, RollupWrite}
    for model in history_admins:
        response = admin_client.get(
            reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        )
        assert response.context["adminform"].form.fields["change_reason"].required, model
        assert 'name="change_reason"' in response.content.decode(), model


def changelist_queries(admin_client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_adminunit_changelist_query_count_is_constant(admin_client):
    district = DistrictFactory()
    url = reverse("admin:communes_adminunit_changelist")
    CommuneFactory.create_batch(5, parent=district)
    with_5 = changelist_queries(admin_client, url)
    CommuneFactory.create_batch(45, parent=DistrictFactory())

    assert changelist_queries(admin_client, url) == with_5


def test_designation_changelist_query_count_is_constant(admin_client):
    programme = ProgrammeFactory()
    url = reverse("admin:communes_designation_changelist")
    DesignationFactory.create_batch(5, programme=programme)
    with_5 = changelist_queries(admin_client, url)
    DesignationFactory.create_batch(45, programme=programme)

    assert changelist_queries(admin_client, url) == with_5
