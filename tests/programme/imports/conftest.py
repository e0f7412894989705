"""Spreadsheets built in the tests as offices make them: real XLSX (openpyxl) and CSV bytes."""

import csv
import io
import unicodedata

import openpyxl
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from programme.imports.models import ImportJob

HEADERS = [
    "Ngày",
    "Xã",
    "Huyện",
    "Đơn vị hỗ trợ",
    "Lĩnh vực",
    "Nội dung hỗ trợ",
    "Hình thức",
    "Giá trị (đồng)",
    "Số lượng",
    "ĐVT",
    "Ghi chú",
]


def xlsx_bytes(rows, *, title="Dữ liệu", setup=None) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    if setup:
        setup(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_cp1258(text: str) -> bytes:
    """Encode as Vietnamese Excel does in Windows-1258: letters with a circumflex, breve or horn
    are single bytes, tone marks mostly follow as combining characters."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", char)
        for index, mark in enumerate(parts[1:], start=1):
            base = unicodedata.normalize("NFC", parts[0] + mark)
            rest = parts[1:index] + parts[index + 1 :]
            try:
                out += base.encode("cp1258") + rest.encode("cp1258")
                break
            except UnicodeEncodeError:
                continue
        else:
            out += parts.encode("cp1258")
    return bytes(out)


def csv_bytes(rows, *, encoding="utf-8", delimiter=",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    if encoding == "cp1258":
        return to_cp1258(buffer.getvalue())
    return buffer.getvalue().encode(encoding)


@pytest.fixture(autouse=True)
def english(client):
    """Messages are asserted in English (pages and code); one test checks the Vietnamese."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def sheet_upload():
    def make(data: bytes, name: str = "dong-gop.xlsx") -> SimpleUploadedFile:
        return SimpleUploadedFile(name, data)

    return make


@pytest.fixture
def upload_as(client, media_root, sheet_upload):
    def send(user, data: bytes, name="dong-gop.xlsx", kind="contributions") -> ImportJob:
        client.force_login(user)
        response = client.post(
            reverse("programme:import_list"), {"kind": kind, "file": sheet_upload(data, name)}
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        job = ImportJob.objects.latest("pk")
        assert response.url == job.get_absolute_url()
        return job

    return send


def commit(client, job):
    response = client.post(reverse("programme:import_commit", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    return job
