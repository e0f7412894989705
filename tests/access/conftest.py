"""A world with two of each party: side A (the users who ask) and side B (whose records they ask).

- commune A is assigned to agency A and twinned with enterprise A; commune B likewise with
  agency B and enterprise B (each from 1/6/2016);
- per side: an agency liaison, an enterprise representative and a commune officer;
- province staff, a plain user without a role, a staff user (is_staff) without a role or any
  permission, and a superuser;
- side B owns at least one record of every kind a URL can point at: visit, difficulty,
  contributions (from its agency and from its enterprise), plan and plan item, attachments on
  the visit, difficulty and contribution, a finished export, period reports (commune, agency and
  programme scope), and reference rows for the admin.

Every text of side B's records carries MARKER, so a page that shows side B's data to side A is
caught by searching the response for it. The names of communes, agencies and enterprises are
reference data every signed-in user may look up (the unit search, the admin's reference models):
they carry no marker.
"""

import datetime
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from communes.models import (
    CriterionAssessment,
    Designation,
    NtmRecognition,
    Programme,
    Succession,
)
from partners.models import Assignment, Membership, Twinning
from partners.services import membership_create
from programme import services
from programme.models import (
    Attachment,
    Contribution,
    ContributionCategory,
    Difficulty,
    Plan,
    PlanItem,
    Visit,
)
from reports.models import ExportJob, PeriodReport, RollupWrite
from tests.factories import (
    AgencyFactory,
    AssignmentFactory,
    CommuneFactory,
    ContributionFactory,
    CriteriaSetFactory,
    CriterionFactory,
    DesignationFactory,
    DifficultyFactory,
    EnterpriseFactory,
    PlanFactory,
    PlanItemFactory,
    TwinningFactory,
    UserFactory,
    VisitFactory,
)

MARKER = "BMARK"
SINCE = datetime.date(2016, 6, 1)
DAY = datetime.date(2024, 3, 15)
PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n"

Role = Membership.Role


@dataclass
class Side:
    """One side's organisations, people and records."""

    commune: object
    agency: object
    enterprise: object
    liaison: object
    rep: object
    officer: object
    records: dict = field(default_factory=dict)  # model class -> [instances]


@dataclass
class World:
    a: Side
    b: Side
    staff: object  # province staff
    norole: object  # signed in, no membership
    staff_norole: object  # is_staff, no membership, no permission
    admin: object  # superuser
    rebuild_task_id: str = ""
    # What the matrix sends with its htmx GETs and its POSTs (side B's ids and text).
    probe_query: dict = field(default_factory=dict)
    probe_body: dict = field(default_factory=dict)

    def records_of_b(self, model) -> list:
        return self.b.records.get(model, [])


def _member(username: str, role: str, **organisation):
    user = UserFactory(username=username)
    membership_create(user=user, role=role, **organisation)
    return user


def _side(letter: str) -> Side:
    commune = CommuneFactory(name=f"Xã Phía {letter}")
    agency = AgencyFactory(name=f"Sở Phía {letter}", short_name=f"SP{letter}")
    enterprise = EnterpriseFactory(name=f"Công ty Phía {letter}")
    AssignmentFactory(agency=agency, commune=commune, start_date=SINCE, role="lead")
    TwinningFactory(enterprise=enterprise, commune=commune, start_date=SINCE)
    DesignationFactory(commune=commune)
    low = letter.lower()
    return Side(
        commune=commune,
        agency=agency,
        enterprise=enterprise,
        liaison=_member(f"liaison_{low}", Role.AGENCY_LIAISON, agency=agency),
        rep=_member(f"rep_{low}", Role.ENTERPRISE_REP, enterprise=enterprise),
        officer=_member(f"officer_{low}", Role.COMMUNE_OFFICER, commune=commune),
    )


def _records(side: Side, marker: str) -> dict:
    """One record of every kind, for `side`, each text carrying `marker`."""
    plan = PlanFactory(commune=side.commune, year=DAY.year, note=f"{marker} plan note")
    item = PlanItemFactory(plan=plan, title=f"{marker} plan item")
    visit = VisitFactory(
        commune=side.commune,
        agency=side.agency,
        date=DAY,
        village=f"Thôn {marker}",
        summary=f"{marker} visit summary",
    )
    difficulty = DifficultyFactory(
        commune=side.commune, raised_on=DAY, visit=visit, description=f"{marker} difficulty"
    )
    from_agency = ContributionFactory(
        commune=side.commune,
        agency=side.agency,
        date=DAY,
        description=f"{marker} agency gift",
        status=Contribution.Status.DELIVERED,
    )
    from_enterprise = ContributionFactory(
        commune=side.commune,
        agency=None,
        enterprise=side.enterprise,
        date=DAY,
        description=f"{marker} enterprise gift",
        status=Contribution.Status.DELIVERED,
    )
    for record in (visit, difficulty, from_agency):
        services.attachment_add(
            user=side.liaison,
            record=record,
            files=[SimpleUploadedFile(f"{marker}-minutes.pdf", PDF_BYTES)],
        )
    return {
        Plan: [plan],
        PlanItem: [item],
        Visit: [visit],
        Difficulty: [difficulty],
        Contribution: [from_agency, from_enterprise],
        Attachment: list(
            Attachment.objects.filter(
                Q(visit=visit) | Q(difficulty=difficulty) | Q(contribution=from_agency)
            ).order_by("pk")
        ),
    }


def _reference_rows(b: Side) -> dict:
    """Rows for the admin pages of the reference models (side B's where they have a side)."""
    criteria_set = CriteriaSetFactory()
    criterion = CriterionFactory(criteria_set=criteria_set)
    successor = CommuneFactory(name="Xã Phía B mới")
    rows = {
        Succession: Succession.objects.create(
            predecessor=b.commune, successor=successor, effective_date=datetime.date(2025, 7, 1)
        ),
        CriterionAssessment: CriterionAssessment.objects.create(
            commune=b.commune, criterion=criterion, assessed_on=DAY, level="standard"
        ),
        NtmRecognition: NtmRecognition.objects.create(
            commune=b.commune, criteria_set=criteria_set, level="standard", year=2024
        ),
        IntervalSchedule: IntervalSchedule.objects.create(every=7, period="days"),
        CrontabSchedule: CrontabSchedule.objects.create(minute="7", hour="3"),
        SolarSchedule: SolarSchedule.objects.create(
            event="sunrise", latitude="20.25", longitude="105.97"
        ),
        ClockedSchedule: ClockedSchedule.objects.create(
            clocked_time=datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
        ),
    }
    rows[PeriodicTask] = PeriodicTask.objects.create(
        name=f"{MARKER} task", task="reports.drain_outbox", interval=rows[IntervalSchedule]
    )
    # The audit trail of the rollups (admin pages only): a rebuild side B's liaison asked for.
    rows[RollupWrite] = RollupWrite.objects.create(
        kind="rebuild", trigger="user", user=b.liaison, reason="requested", error=f"{MARKER} error"
    )
    if apps.is_installed("axes"):
        # Login throttling's records of side B's liaison (admin pages only).
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog

        seen = {
            "user_agent": f"{MARKER} browser",
            "ip_address": "127.0.0.2",
            "username": b.liaison.username,
            "http_accept": "text/html",
            "path_info": "/accounts/login/",
        }
        rows[AccessAttempt] = AccessAttempt.objects.create(
            **seen, get_data="", post_data="", failures_since_start=1
        )
        rows[AccessLog] = AccessLog.objects.create(**seen)
        rows[AccessFailureLog] = AccessFailureLog.objects.create(**seen)
    return {model: [row] for model, row in rows.items()}


def _imports(b: Side) -> dict:
    """A spreadsheet import uploaded by side B's liaison (when the import app is there)."""
    try:
        model = apps.get_model("programme", "ImportJob")
    except LookupError:
        return {}
    job = model(
        kind="contributions",
        original_name=f"{MARKER}-import.xlsx",
        size=10,
        sha256="0" * 64,
        created_by=b.liaison,
        message=f"{MARKER} import",
    )
    job.file.save(f"{MARKER}-import.xlsx", ContentFile(b"not really a workbook"), save=False)
    job.save()
    return {model: [job]}


@pytest.fixture
def access_world(db, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    a = _side("A")
    b = _side("B")
    a.records = _records(a, "alpha")
    b.records = _records(b, MARKER)
    b.records.update(_reference_rows(b))
    export = ExportJob.objects.create(
        user=b.liaison, kind="contributions", status=ExportJob.Status.DONE, progress=100, rows=1
    )
    export.file.save(f"{MARKER}-export.csv", ContentFile(f"{MARKER};1\n".encode()))
    b.records[ExportJob] = [export]
    b.records.update(_imports(b))
    b.records[PeriodReport] = [
        PeriodReport.objects.create(kind="year", year=2024, scope="commune", commune=b.commune),
        PeriodReport.objects.create(kind="year", year=2024, scope="agency", agency=b.agency),
        PeriodReport.objects.create(kind="quarter", year=2024, number=1, scope="programme"),
    ]
    b.records[type(b.commune)] = [b.commune]
    b.records[type(b.agency)] = [b.agency]
    b.records[type(b.enterprise)] = [b.enterprise]
    b.records[type(b.liaison)] = [b.liaison]
    b.records[Membership] = list(Membership.objects.filter(user=b.liaison))
    b.records[Designation] = list(Designation.objects.filter(commune=b.commune))
    b.records[Assignment] = list(Assignment.objects.filter(agency=b.agency))
    b.records[Twinning] = list(Twinning.objects.filter(enterprise=b.enterprise))
    b.records[Programme] = list(Programme.objects.all()[:1])
    b.records[Group] = list(Group.objects.all()[:1])
    category = ContributionCategory.objects.get(code="roads")
    category.save()  # seeded by a migration, without a history row for the admin's history page
    b.records[ContributionCategory] = [category]
    staff_norole = UserFactory(username="staff_norole", is_staff=True)
    return World(
        a=a,
        b=b,
        staff=_member("province", Role.PROVINCE_STAFF),
        norole=UserFactory(username="norole"),
        staff_norole=staff_norole,
        admin=UserFactory(username="superuser", is_staff=True, is_superuser=True),
    )
