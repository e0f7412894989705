"""Remove attachment files that no row points to (left by a transaction that rolled back)."""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from programme.models import Attachment


class Command(BaseCommand):
    help = _("Delete stored attachment files that belong to no record.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-age",
            type=int,
            default=3600,
            help=_("Leave files younger than this many seconds (uploads in progress)."),
        )
        parser.add_argument("--dry-run", action="store_true", help=_("Only list the files."))

    def handle(self, *args, min_age: int, dry_run: bool, **options):
        root = Path(settings.MEDIA_ROOT)
        folder = root / "attachments"
        if not folder.exists():
            return
        known = set(Attachment.objects.values_list("file", flat=True))
        cutoff = time.time() - min_age
        removed = 0
        for path in folder.rglob("*"):
            if not path.is_file() or path.stat().st_mtime > cutoff:
                continue
            if path.relative_to(root).as_posix() in known:
                continue
            removed += 1
            self.stdout.write(str(path))
            if not dry_run:
                path.unlink()
        self.stdout.write(_("%(count)d orphan file(s).") % {"count": removed})
