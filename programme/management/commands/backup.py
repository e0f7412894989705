"""python manage.py backup PATH: the database and the uploaded files in one archive."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from programme.backup import BackupError, backup


class Command(BaseCommand):
    help = gettext_lazy(
        "Write a backup (database in pg_dump custom format and the uploaded files) to PATH."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help=gettext_lazy("The archive to write (a .tar file)."))

    def handle(self, *args, path: str, **options):
        started = time.monotonic()
        try:
            manifest = backup(path)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            _(
                "Backup written to %(path)s: %(tables)d tables, %(rows)d rows, %(files)d files, "
                "in %(seconds).1f s."
            )
            % {
                "path": path,
                "tables": len(manifest["tables"]),
                "rows": sum(manifest["tables"].values()),
                "files": manifest["media_files"],
                "seconds": time.monotonic() - started,
            }
        )
