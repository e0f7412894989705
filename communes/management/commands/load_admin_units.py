from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from communes.loader import UnknownProvinceError, admin_units_load

DEFAULT_PROVINCE = "Ninh Bình"


class Command(BaseCommand):
    help = gettext_lazy(
        "Load the administrative units (as of 30/6/2025 and from 1/7/2025) and their successions "
        "from the vietnamadminunits package. Running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.description = str(self.help)  # argparse needs a str, not a lazy translation
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--province",
            default=DEFAULT_PROVINCE,
            help=gettext_lazy(
                "Province name, with or without diacritics or “Tỉnh”/“Thành phố” "
                "(default: Ninh Bình)."
            ),
        )
        which.add_argument(
            "--all",
            action="store_true",
            dest="everything",
            help=gettext_lazy("Load the whole country."),
        )

    def handle(self, *args, province: str, everything: bool, **options) -> None:
        try:
            result = admin_units_load(province=province, everything=everything)
        except UnknownProvinceError as exc:
            raise CommandError(str(exc)) from exc
        if everything:
            self.stdout.write(
                _("Whole country: %(legacy)d provinces as of 30/6/2025, %(current)d from 1/7/2025.")
                % {"legacy": len(result.legacy_provinces), "current": len(result.current_provinces)}
            )
        else:
            self.stdout.write(
                _("Provinces as of 30/6/2025: %(legacy)s. From 1/7/2025: %(current)s.")
                % {
                    "legacy": ", ".join(result.legacy_provinces) or "–",
                    "current": ", ".join(result.current_provinces) or "–",
                }
            )
        for label, counts in ((_("Units"), result.units), (_("Successions"), result.successions)):
            self.stdout.write(
                _("%(what)s: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
                % {
                    "what": label,
                    "created": counts.created,
                    "updated": counts.updated,
                    "unchanged": counts.unchanged,
                }
            )
