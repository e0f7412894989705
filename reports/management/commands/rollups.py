"""python manage.py rollups rebuild [--year Y] | reconcile [--year Y …] | drain"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports import audit, rollups


class Command(BaseCommand):
    help = gettext_lazy("Rebuild, reconcile or refresh the rollup tables.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["rebuild", "reconcile", "drain"])
        parser.add_argument(
            "--year", type=int, action="append", help=_("A year (repeatable); default: all.")
        )

    def handle(self, *args, action: str, year: list[int] | None, **options):
        started = time.monotonic()
        who = audit.by_command()  # each write leaves a RollupWrite row naming the system account
        if action == "drain":
            count = audit.drain(who)
            self.stdout.write(_("Pending refreshes handled: %(count)d.") % {"count": count})
        elif action == "reconcile":
            this_year = timezone.localdate().year
            repaired = audit.reconcile(who, years=year or [this_year - 1, this_year])
            for cell, count in repaired.items():
                self.stdout.write(f"{cell}: {count}")
        else:
            years = year or [None]
            steps = len(years) * len(rollups.SPECS)
            done = 0

            def progress(kind: str) -> None:
                nonlocal done
                done += 1
                bar = "#" * (30 * done // steps)
                self.stdout.write(f"\r[{bar:<30}] {done}/{steps} {kind:<12}", ending="")
                self.stdout.flush()

            if any(one is not None and not 2000 <= one <= 2100 for one in years):
                raise CommandError(_("The year must be between 2000 and 2100."))
            for one in years:
                audit.rebuild(who, year=one, progress=progress)
            self.stdout.write("")
        self.stdout.write(_("Done in %(seconds).1f s.") % {"seconds": time.monotonic() - started})
