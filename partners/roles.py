"""The four user roles, each a Django group named after its `Membership.Role` value.

Group permissions say what a role may do with a kind of record; which records a user may see
is decided by the scoping helpers (one per object type), not here.
"""

from partners.models import Membership

Role = Membership.Role

# Models of communes and partners that people work with (the historical twins are excluded:
# the history pages use the permissions of the model they record).
COMMUNES_MODELS = (
    "programme",
    "adminunit",
    "succession",
    "designation",
    "criteriaset",
    "criterion",
    "criterionassessment",
    "ntmrecognition",
)
PARTNERS_MODELS = ("agency", "enterprise", "assignment", "twinning", "membership")

# Reference and programme records that every signed-in role may read. Memberships (who works
# for whom) stay with province staff.
SHARED_MODELS = (
    *(f"communes.{model}" for model in COMMUNES_MODELS),
    *(f"partners.{model}" for model in PARTNERS_MODELS if model != "membership"),
)
ALL_MODELS = (
    *(f"communes.{model}" for model in COMMUNES_MODELS),
    *(f"partners.{model}" for model in PARTNERS_MODELS),
)


def _permissions(actions: tuple[str, ...], models: tuple[str, ...]) -> frozenset[str]:
    """ "app.model" names and actions → "app.action_model" permission names."""
    result = set()
    for label in models:
        app_label, model = label.split(".")
        result |= {f"{app_label}.{action}_{model}" for action in actions}
    return frozenset(result)


# Province staff see and correct everything and manage designations, assignments and
# twinnings (adding and ending terms). The other roles only read reference data here; what they
# may write is scoped to their own agency, enterprise or commune by the field-work pages.
TERM_MODELS = ("communes.designation", "partners.assignment", "partners.twinning")
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.PROVINCE_STAFF: _permissions(("view", "change"), ALL_MODELS)
    | _permissions(("add", "delete"), TERM_MODELS),
    Role.AGENCY_LIAISON: _permissions(("view",), SHARED_MODELS),
    Role.ENTERPRISE_REP: _permissions(("view",), SHARED_MODELS),
    Role.COMMUNE_OFFICER: _permissions(("view",), SHARED_MODELS),
}
