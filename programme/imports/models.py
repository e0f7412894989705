"""An import: who brought which file in, what the dry run found, and what it created or changed.

`ImportedRecord` rows tie every created or updated record to its import, with the values an
update replaced, so that province staff can undo a whole import.
"""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.admin import display as admin_display
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def import_path(instance: "ImportJob", filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()[:5]
    return f"imports/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class ImportJob(models.Model):
    class Status(models.TextChoices):
        CHECKING = "checking", _("being checked")
        CHECKED = "checked", _("checked, not imported yet")
        IMPORTING = "importing", _("importing")
        DONE = "done", _("imported")
        FAILED = "failed", _("refused")
        UNDOING = "undoing", _("being undone")
        UNDONE = "undone", _("undone")

    kind = models.CharField(_("kind of records"), max_length=20)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.CHECKING
    )
    file = models.FileField(_("file"), upload_to=import_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    via_admin = models.BooleanField(_("from the admin"), default=False)
    # Messages of the check are written in the language of the person who uploaded.
    language = models.CharField(_("language"), max_length=10, default="vi")
    # Progress of the step running now (checking or saving), for the progress bar.
    stage = models.CharField(_("stage"), max_length=20, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # What the dry run (and then the import) found.
    rows_total = models.PositiveIntegerField(_("data rows"), default=0)
    rows_blank = models.PositiveIntegerField(_("blank rows skipped"), default=0)
    to_create = models.PositiveIntegerField(_("to create"), default=0)
    to_update = models.PositiveIntegerField(_("to update"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates skipped"), default=0)
    problem_rows = models.PositiveIntegerField(_("rows with problems"), default=0)
    problems = models.JSONField(_("problems"), default=list, blank=True)
    notices = models.JSONField(_("notices"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    file_info = models.CharField(_("file details"), max_length=255, blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    imported_at = models.DateTimeField(_("imported at"), null=True, blank=True)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "checking",
                        "checked",
                        "importing",
                        "done",
                        "failed",
                        "undoing",
                        "undone",
                    ]
                ),
                name="importjob_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.original_name}"

    def get_absolute_url(self) -> str:
        return reverse("programme:import_detail", args=[self.pk])

    @property
    @admin_display(description=_("kind of records"))
    def kind_label(self) -> str:
        from programme.imports.kinds import KINDS  # noqa: PLC0415 (kinds import the models)

        kind = KINDS.get(self.kind)
        return str(kind.label) if kind else self.kind

    @property
    def is_running(self) -> bool:
        return self.status in (self.Status.CHECKING, self.Status.IMPORTING, self.Status.UNDOING)

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))

    @property
    def can_commit(self) -> bool:
        return (
            self.status == self.Status.CHECKED
            and not self.problem_rows
            and (self.to_create or self.to_update)
        )


class ImportedRecord(models.Model):
    class Action(models.TextChoices):
        CREATED = "created", _("created")
        UPDATED = "updated", _("updated")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="records")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=10, choices=Action.choices)
    row = models.PositiveIntegerField(_("row"))
    before = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("imported record")
        verbose_name_plural = _("imported records")
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="importedrecord_obj_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=["created", "updated"]), name="importedrecord_action_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.job_id} · {self.action} · {self.content_type_id}:{self.object_id}"


class CheckedRows(models.Model):
    """The rows a dry run found ready to save, kept so that the commit saves them without reading
    and checking the whole file again.

    `fingerprint` names the file and the reference data (communes, organisations, terms,
    categories, the uploader's scope, the day) they were checked against: when it no longer
    matches at the commit, the file is checked again from the start.
    """

    job = models.OneToOneField(
        ImportJob, on_delete=models.CASCADE, primary_key=True, related_name="checked_rows"
    )
    fingerprint = models.CharField(max_length=64)
    data = models.BinaryField()  # zlib-compressed JSON, see programme.imports.checked

    class Meta:
        verbose_name = _("checked rows of an import")
        verbose_name_plural = _("checked rows of imports")

    def __str__(self) -> str:
        return f"{self.job_id} · {len(self.data)} bytes"
