import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from programme.models import Attachment
from tests.factories import UserFactory, VisitFactory

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005050200"
    "5fc8f1d20000000049454e44ae426082"
)


@pytest.mark.django_db
def test_it_removes_old_orphan_files_and_keeps_attached_ones(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    visit = VisitFactory()
    attachment = Attachment.objects.create(
        visit=visit,
        file=SimpleUploadedFile("photo.png", PNG),
        original_name="photo.png",
        content_type="image/png",
        size=len(PNG),
        uploaded_by=UserFactory(),
    )
    orphan = tmp_path / "attachments" / "2026" / "01" / "orphan.png"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(PNG)
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    os.utime(attachment.file.path, (old, old))

    call_command("attachments_cleanup")

    assert not orphan.exists()
    assert os.path.exists(attachment.file.path)


@pytest.mark.django_db
def test_it_leaves_recent_files_alone(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    recent = tmp_path / "attachments" / "new.png"
    recent.parent.mkdir(parents=True)
    recent.write_bytes(PNG)
    call_command("attachments_cleanup")
    assert recent.exists()
