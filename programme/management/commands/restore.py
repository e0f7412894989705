"""python manage.py restore PATH: load a backup into an empty database and MEDIA_ROOT."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from programme.backup import BackupError, restore


class Command(BaseCommand):
    help = gettext_lazy(
        "Restore a backup made by `backup` into an empty database (DATABASE_URL) and MEDIA_ROOT; "
        "check every table's row count."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help=gettext_lazy("The archive written by `backup`."))

    def handle(self, *args, path: str, **options):
        started = time.monotonic()
        try:
            manifest = restore(path)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            _(
                "Restored %(tables)d tables (%(rows)d rows, counts checked) and %(files)d files "
                "in %(seconds).1f s."
            )
            % {
                "tables": len(manifest["tables"]),
                "rows": sum(manifest["tables"].values()),
                "files": manifest["media_files"],
                "seconds": time.monotonic() - started,
            }
        )
