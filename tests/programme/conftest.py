"""A small world for the field-work tests.

- commune 1 is assigned to agency A (lead, from 1/6/2016) and twinned with enterprise E;
- commune 2 is assigned to agency B;
- users: a liaison of A (the insider of commune 1), a liaison of B (an outsider there), an
  officer of commune 1, a representative of E, and a province staff member.
"""

import datetime
import io
import zipfile
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from communes.models import AdminUnit
from partners.models import Agency, Enterprise, Membership
from partners.services import membership_create
from programme.models import ContributionCategory
from tests.factories import (
    AgencyFactory,
    AssignmentFactory,
    CommuneFactory,
    EnterpriseFactory,
    TwinningFactory,
    UserFactory,
)

ASSIGNED_FROM = datetime.date(2016, 6, 1)

PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02" + (
    b"\x00" * 64
)
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n"
TEXT_BYTES = "Biên bản họp chi bộ thôn Đông.\n".encode() * 4


def _office_bytes(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}/document.xml", "<document/>")
    return buffer.getvalue()


DOCX_BYTES = _office_bytes("word")
XLSX_BYTES = _office_bytes("xl")


@dataclass
class World:
    commune1: AdminUnit
    commune2: AdminUnit
    agency_a: Agency
    agency_b: Agency
    enterprise: Enterprise
    liaison_a: object
    liaison_b: object
    officer: object
    rep: object
    staff: object


@pytest.fixture
def world(db) -> World:
    commune1 = CommuneFactory(name="Gia Hưng")
    commune2 = CommuneFactory(name="Ninh Hòa")
    agency_a = AgencyFactory(short_name="Sở A")
    agency_b = AgencyFactory(short_name="Sở B")
    enterprise = EnterpriseFactory(name="Công ty TNHH Xi măng E")
    AssignmentFactory(agency=agency_a, commune=commune1, start_date=ASSIGNED_FROM, role="lead")
    AssignmentFactory(agency=agency_b, commune=commune2, start_date=ASSIGNED_FROM, role="lead")
    TwinningFactory(enterprise=enterprise, commune=commune1, start_date=ASSIGNED_FROM)

    def member(username: str, role: str, **organisation):
        user = UserFactory(username=username)
        membership_create(user=user, role=role, **organisation)
        return user

    Role = Membership.Role
    return World(
        commune1=commune1,
        commune2=commune2,
        agency_a=agency_a,
        agency_b=agency_b,
        enterprise=enterprise,
        liaison_a=member("lien_lac_a", Role.AGENCY_LIAISON, agency=agency_a),
        liaison_b=member("lien_lac_b", Role.AGENCY_LIAISON, agency=agency_b),
        officer=member("can_bo_xa", Role.COMMUNE_OFFICER, commune=commune1),
        rep=member("dai_dien_dn", Role.ENTERPRISE_REP, enterprise=enterprise),
        staff=member("ban_to_chuc", Role.PROVINCE_STAFF),
    )


@pytest.fixture
def roads(db) -> ContributionCategory:
    """A seeded support category of the NTM area."""
    return ContributionCategory.objects.get(code="roads")


@pytest.fixture
def media_root(settings, tmp_path):
    """Uploaded files go to a throw-away folder; the test can list what was left in it."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


SAMPLES = {
    "png": PNG_BYTES,
    "jpeg": JPEG_BYTES,
    "pdf": PDF_BYTES,
    "docx": DOCX_BYTES,
    "xlsx": XLSX_BYTES,
    "text": TEXT_BYTES,
}


@pytest.fixture
def upload():
    """upload("minutes.pdf", "png") → an upload named minutes.pdf whose bytes are a PNG."""

    def make(name: str, kind: str) -> SimpleUploadedFile:
        return SimpleUploadedFile(name, SAMPLES[kind])

    return make
