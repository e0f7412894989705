"""Checking uploaded files by their content, never by the name the user gave them."""

import filetype
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

# MIME type detected from the bytes → extension the stored file gets.
ALLOWED_TYPES = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}


def detect_attachment_type(upload: UploadedFile) -> str:
    """The MIME type of an acceptable upload, or a ValidationError in the user's language."""
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise ValidationError(
            _("The file %(name)s is larger than 10 MB."), params={"name": upload.name}
        )
    if upload.size == 0:
        raise ValidationError(_("The file %(name)s is empty."), params={"name": upload.name})
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in ALLOWED_TYPES:
        raise ValidationError(
            _("%(name)s is not a PDF, JPEG, PNG, DOCX or XLSX file."),
            params={"name": upload.name},
        )
    return kind.mime
