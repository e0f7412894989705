from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partners.demo import demo_load


class Command(BaseCommand):
    help = gettext_lazy(
        "Load the demo programme (agencies, enterprises, assignments, twinnings, one login per "
        "role) on top of the real Ninh Bình units. Running it again creates nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.description = str(self.help)  # argparse needs a str, not a lazy translation
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help=gettext_lazy("Load the demo data even though DEBUG is off."),
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                _(
                    "Refusing to load demo data (demo logins with a published password) while "
                    "DEBUG is off. Set DJANGO_DEBUG=1, or pass --allow-production if this "
                    "really is a demonstration server."
                )
            )
        counts = demo_load()
        for kind, tally in counts.items():
            self.stdout.write(
                _("%(kind)s: %(created)d created, %(unchanged)d unchanged")
                % {"kind": kind, "created": tally["created"], "unchanged": tally["unchanged"]}
            )
