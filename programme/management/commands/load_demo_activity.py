from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from programme.demo import demo_activity_load


class Command(BaseCommand):
    help = _("Load demo visits, difficulties, contributions and plans for the demo communes.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help=_("Run even when DEBUG is off."),
        )

    def handle(self, *args, allow_production: bool, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                _("Demo data is for development. Run with DEBUG on, or add --allow-production.")
            )
        counts = demo_activity_load()
        if counts.get("already loaded"):
            self.stdout.write(_("Demo activity is already loaded; nothing changed."))
            return
        for name, count in sorted(counts.items()):
            self.stdout.write(f"{name}: {count}")
