from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgrammeConfig(AppConfig):
    name = "programme"
    verbose_name = _("Programme work records")

    def ready(self):
        from programme import lookups, security  # noqa: F401  (the `any` lookup; the security log receivers)
