import pytest
from django.urls import reverse

from partners.models import Assignment, Role
from tests.communes.test_admin import REASON, change_url, changelist_queries, form_data
from tests.factories import (
    AgencyFactory,
    AssignmentFactory,
    CommuneFactory,
    EnterpriseFactory,
    TwinningFactory,
)


def search(admin_client, model_name: str, term: str) -> list:
    url = reverse(f"admin:partners_{model_name}_changelist")
    return list(admin_client.get(url, {"q": term}).context["cl"].result_list)


def test_agency_search_ignores_diacritics(admin_client):
    agency = AgencyFactory(name="Sở Nông nghiệp và Phát triển nông thôn")
    AgencyFactory(name="Sở Tài chính")

    assert search(admin_client, "agency", "so nong nghiep") == [agency]


def test_enterprise_search_ignores_diacritics(admin_client):
    enterprise = EnterpriseFactory(name="Công ty Xi măng Đồng Bành")
    EnterpriseFactory(name="Công ty TNHH Hoa Lư")

    assert search(admin_client, "enterprise", "dong banh") == [enterprise]


def test_enterprise_search_finds_tax_code(admin_client):
    enterprise = EnterpriseFactory(tax_code="2700123456")
    EnterpriseFactory(tax_code="2700999999")

    assert search(admin_client, "enterprise", "2700123") == [enterprise]


def test_assignment_search_matches_commune_or_agency_without_diacritics(admin_client):
    by_commune = AssignmentFactory(commune=CommuneFactory(name="Chất Bình"))
    by_agency = AssignmentFactory(agency=AgencyFactory(name="Ban Tổ chức Tỉnh ủy"))
    AssignmentFactory()

    assert search(admin_client, "assignment", "chat binh") == [by_commune]
    assert search(admin_client, "assignment", "to chuc tinh uy") == [by_agency]


def test_twinning_search_matches_enterprise_without_diacritics(admin_client):
    twinning = TwinningFactory(enterprise=EnterpriseFactory(name="Công ty Điện lực Ninh Bình"))
    TwinningFactory()

    assert search(admin_client, "twinning", "dien luc") == [twinning]


def test_assignment_change_with_reason_records_reason_and_user(admin_client, admin_user):
    assignment = AssignmentFactory()
    data = form_data(admin_client.get(change_url(assignment)))
    data.update({"decision_reference": "140-QĐ/TU", "change_reason": REASON})

    response = admin_client.post(change_url(assignment), data)

    assert response.status_code == 302
    record = assignment.history.latest()
    assert record.decision_reference == "140-QĐ/TU"
    assert (record.history_change_reason, record.history_user) == (REASON, admin_user)


def test_assignment_clash_is_refused_with_the_model_message(admin_client):
    lead = AssignmentFactory()
    other = AssignmentFactory(commune=CommuneFactory(), role=Role.CO_RESPONSIBLE)
    data = form_data(admin_client.get(change_url(other)))
    data.update({"commune": lead.commune_id, "role": "lead", "change_reason": REASON})

    response = admin_client.post(change_url(other), data)

    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors
    assert other.history.count() == 1


def test_inline_assignment_on_agency_carries_the_reason(admin_client, admin_user):
    agency = AgencyFactory()
    commune = CommuneFactory()
    data = form_data(admin_client.get(change_url(agency)))
    data.update(
        {
            "assignments-TOTAL_FORMS": "1",
            "assignments-0-commune": commune.pk,
            "assignments-0-role": "lead",
            "assignments-0-start_date": "01/06/2016",
            "change_reason": REASON,
        }
    )

    response = admin_client.post(change_url(agency), data)

    assert response.status_code == 302
    record = Assignment.objects.get(agency=agency, commune=commune).history.get()
    assert (record.history_change_reason, record.history_user) == (REASON, admin_user)


@pytest.mark.parametrize("model_name", ["assignment", "twinning", "agency", "enterprise"])
def test_bulk_delete_action_is_not_offered(admin_client, model_name):
    response = admin_client.get(reverse(f"admin:partners_{model_name}_changelist"))

    assert "delete_selected" not in response.content.decode()


def test_assignment_changelist_query_count_is_constant(admin_client):
    url = reverse("admin:partners_assignment_changelist")
    AssignmentFactory.create_batch(5)
    with_5 = changelist_queries(admin_client, url)
    AssignmentFactory.create_batch(45)

    assert changelist_queries(admin_client, url) == with_5


def test_twinning_changelist_query_count_is_constant(admin_client):
    url = reverse("admin:partners_twinning_changelist")
    TwinningFactory.create_batch(5)
    with_5 = changelist_queries(admin_client, url)
    TwinningFactory.create_batch(45)

    assert changelist_queries(admin_client, url) == with_5
