from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from communes.ntm import ntm_criteria_load


class Command(BaseCommand):
    help = gettext_lazy(
        "Load or update the national NTM criteria sets from communes/data/ntm_criteria.json. "
        "Running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.description = str(self.help)  # argparse needs a str, not a lazy translation

    def handle(self, *args, **options) -> None:
        counts = ntm_criteria_load()
        self.stdout.write(
            _(
                "NTM criteria sets: %(sets_created)d created, %(sets_updated)d updated, "
                "%(sets_unchanged)d unchanged; criteria: %(criteria_created)d created, "
                "%(criteria_updated)d updated, %(criteria_unchanged)d unchanged."
            )
            % counts
        )
