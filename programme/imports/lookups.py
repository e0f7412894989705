"""Find communes, organisations and categories the way offices name them, all from memory.

Every index is loaded with one query per table at the start of an import, so a file of 100.000
rows costs no query per row. Names compare without case, diacritics, spacing or punctuation
(`values.key`), and communes with or without “Xã”/“Phường”/“Thị trấn”.
"""

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from django.utils.translation import gettext as _

from communes.models import AdminUnit, Designation
from communes.text import fold
from partners.models import Agency, Assignment, Enterprise, Twinning
from programme.imports.values import CellError, key, text
from programme.models import Area, ContributionCategory

# Kind words before a name, matched on the folded text with their separator, so that an
# abbreviation ("P.", "TT", "H.") never eats the first letter of a name ("Phong Thủy").
_UNIT_PREFIXES = re.compile(r"^(xa|phuong|thi tran|dac khu|tt|p|x)(\s+|\.\s*)")
_DISTRICT_PREFIXES = re.compile(r"^(huyen|thi xa|thanh pho|quan|tp|tx|h|q)(\s+|\.\s*)")


def _strip(raw, prefixes: re.Pattern) -> str:
    folded = fold(text(raw))
    stripped = prefixes.sub("", folded, count=1)
    return key(stripped) or key(folded)


def unit_key(raw) -> str:
    """“Xã Chất Bình”, “xa chat binh”, “X. Chất Bình”, “Chất Bình” → “chatbinh”."""
    return _strip(raw, _UNIT_PREFIXES)


def district_key(raw) -> str:
    """“Huyện Kim Sơn”, “H. Kim Sơn”, “kim son” → “kimson”."""
    return _strip(raw, _DISTRICT_PREFIXES)


@dataclass(frozen=True)
class Unit:
    pk: int
    label: str
    code: str
    parent_keys: tuple[str, ...]
    valid_from: date | None
    valid_until: date | None

    def valid_on(self, day: date | None) -> bool:
        if day is None:
            return True
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


class CommuneIndex:
    """Every commune-level unit, by name and by GSO code."""

    def __init__(self):
        self.by_name: dict[str, list[Unit]] = defaultdict(list)
        self.by_code: dict[str, list[Unit]] = defaultdict(list)
        self.by_pk: dict[int, Unit] = {}
        rows = AdminUnit.objects.communes().values_list(
            "pk",
            "kind",
            "name",
            "code",
            "valid_from",
            "valid_until",
            "parent__kind",
            "parent__name",
            "parent__parent__name",
        )
        for pk, kind, name, code, start, end, parent_kind, parent_name, grand_name in rows:
            prefix = AdminUnit.KIND_PREFIX.get(kind, "")
            parent = f"{AdminUnit.KIND_PREFIX.get(parent_kind, '')} {parent_name}".strip()
            label = f"{prefix} {name}".strip() + (f" ({parent})" if parent_name else "")
            parents = tuple(district_key(value) for value in (parent_name, grand_name) if value)
            unit = Unit(pk, label, code or "", parents, start, end)
            self.by_name[unit_key(name)].append(unit)
            if code:
                self.by_code[code.lstrip("0")].append(unit)
            self.by_pk[pk] = unit
        self.designated = set(Designation.objects.values_list("commune_id", flat=True))
        self._close: dict[str, list[str]] = {}

    def resolve(
        self,
        name,
        *,
        district=None,
        code=None,
        day: date | None = None,
        preferred: set[int] = frozenset(),
    ) -> Unit:
        code_text = text(code).lstrip("0")
        if code_text:
            candidates = self.by_code.get(code_text, [])
            if not candidates:
                raise CellError(_("No commune has the GSO code “%(code)s”.") % {"code": text(code)})
        else:
            if not text(name):
                raise CellError(_("Name the commune."))
            candidates = self.by_name.get(unit_key(name), [])
            if not candidates:
                raise CellError(self._unknown(name))
        if text(district):
            wanted = district_key(district)
            # The unit's own parent first (a district before 2025); the grandparent only when
            # no parent matches (a commune since 2025 sits right under its province).
            in_district = [unit for unit in candidates if unit.parent_keys[:1] == (wanted,)]
            in_district = in_district or [u for u in candidates if wanted in u.parent_keys]
            if not in_district:
                raise CellError(
                    _(
                        "There is no commune “%(name)s” in “%(district)s”. Communes of that name: "
                        "%(choices)s."
                    )
                    % {
                        "name": text(name) or text(code),
                        "district": text(district),
                        "choices": "; ".join(unit.label for unit in candidates[:6]),
                    }
                )
            candidates = in_district
        for narrower in (
            [unit for unit in candidates if unit.valid_on(day)],
            [unit for unit in candidates if unit.pk in self.designated],
            [unit for unit in candidates if unit.pk in preferred],
        ):
            if len(candidates) == 1:
                break
            if narrower:
                candidates = narrower
        if len(candidates) > 1:
            raise CellError(
                _(
                    "Several communes are called “%(name)s”: %(choices)s. Add the district "
                    "(column “Huyện”) or the GSO code."
                )
                % {
                    "name": text(name),
                    "choices": "; ".join(unit.label for unit in candidates[:6]),
                }
            )
        return candidates[0]

    @cached_property
    def _designated_keys(self) -> list[str]:
        """Names of designated communes: where a misspelt name is looked for first."""
        return [
            name
            for name, units in self.by_name.items()
            if any(unit.pk in self.designated for unit in units)
        ]

    def _unknown(self, name) -> str:
        wanted = unit_key(name)
        if wanted not in self._close:
            matches = difflib.get_close_matches(wanted, self._designated_keys, n=3, cutoff=0.6)
            if not matches:
                matches = difflib.get_close_matches(wanted, list(self.by_name), n=3, cutoff=0.75)
            labels = []
            for match in matches:
                labels.extend(unit.label for unit in self.by_name[match][:2])
            self._close[wanted] = labels[:4]
        close = self._close[wanted]
        if close:
            return _("Unknown commune “%(name)s”. Did you mean: %(choices)s?") % {
                "name": text(name),
                "choices": "; ".join(close),
            }
        return _("Unknown commune “%(name)s”.") % {"name": text(name)}


def _closest(wanted: str, names: dict[str, str]) -> list[str]:
    matches = difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.6)
    return [names[match] for match in matches]


class OrganisationIndex:
    """Agencies by name or short name; enterprises by name or tax code."""

    def __init__(self, *, agencies: bool = True, enterprises: bool = True):
        self.agencies: dict[str, list[Agency]] = defaultdict(list)
        self.enterprises: dict[str, list[Enterprise]] = defaultdict(list)
        self.names: dict[str, str] = {}
        if agencies:
            for agency in Agency.objects.only("pk", "name", "short_name"):
                for label in {agency.name, agency.short_name} - {""}:
                    self.agencies[key(label)].append(agency)
                    self.names[key(label)] = agency.name
        if enterprises:
            for enterprise in Enterprise.objects.only("pk", "name", "tax_code"):
                for label in (enterprise.name, enterprise.tax_code):
                    self.enterprises[key(label)].append(enterprise)
                self.names[key(enterprise.name)] = enterprise.name

    def resolve(self, raw, *, column_label: str):
        if not text(raw):
            raise CellError(_("Fill in %(column)s.") % {"column": column_label})
        wanted = key(raw)
        found = list(
            dict.fromkeys(self.agencies.get(wanted, []) + self.enterprises.get(wanted, []))
        )
        if len(found) == 1:
            return found[0]
        if found:
            raise CellError(
                _(
                    "“%(name)s” names several organisations: %(choices)s. Use the full name or the "
                    "tax code."
                )
                % {"name": text(raw), "choices": "; ".join(str(item) for item in found[:4])}
            )
        close = _closest(wanted, self.names)
        if close:
            return self._fail(raw, close)
        raise CellError(_("Unknown organisation “%(name)s”.") % {"name": text(raw)})

    @staticmethod
    def _fail(raw, close):
        raise CellError(
            _("Unknown organisation “%(name)s”. Did you mean: %(choices)s?")
            % {"name": text(raw), "choices": "; ".join(close)}
        )


class CategoryIndex:
    def __init__(self):
        self.by_key: dict[str, ContributionCategory] = {}
        self.other = None
        self.by_code: dict[str, ContributionCategory] = {}
        for category in ContributionCategory.objects.filter(active=True):
            self.by_code[category.code] = category
            for label in (category.code, category.name_vi, category.name_en):
                self.by_key[key(label)] = category
            if category.code == "other":
                self.other = category

    def infer(self, description: str, *, area: str | None) -> ContributionCategory | None:
        """The one category whose words the description holds (within `area` when given)."""
        folded = f" {' '.join(re.findall(r'[a-z0-9]+', fold(description)))} "
        found = {
            code
            for code, words in CATEGORY_WORDS.items()
            if code in self.by_code and any(f" {word} " in folded for word in words)
        }
        matches = [self.by_code[code] for code in found]
        if area:
            matches = [category for category in matches if category.area == area]
        return matches[0] if len(matches) == 1 else None

    def resolve(self, raw) -> ContributionCategory | None:
        if not text(raw):
            return None
        try:
            return self.by_key[key(raw)]
        except KeyError:
            names = {k: c.name_vi for k, c in self.by_key.items()}
            close = _closest(key(raw), names)
            raise CellError(
                _("Unknown category “%(name)s”.") % {"name": text(raw)}
                + (
                    " " + _("Did you mean: %(choices)s?") % {"choices": "; ".join(close)}
                    if close
                    else ""
                )
            ) from None


# Words of a description that name a category of the seeded list (folded, whole words). A
# description matching one category only is filed under it; anything else goes to "Khác".
CATEGORY_WORDS = {
    "scholarships": ("hoc bong", "khuyen hoc"),
    "gratitude-houses": ("nha tinh nghia",),
    "solidarity-houses": ("dai doan ket",),
    "gifts": ("tang qua", "qua tet", "qua cho"),
    "medical": ("kham benh", "cap thuoc", "kham chua benh"),
    "seed-stock": ("giong", "con giong", "cay giong"),
    "fertiliser": ("phan bon",),
    "training-jobs": ("dao tao nghe", "viec lam", "tap huan"),
    "loans": ("von vay", "cho vay", "vay von"),
    "technology": ("chuyen giao", "khoa hoc ky thuat"),
    "lighting": ("chieu sang", "den duong"),
    "roads": ("duong giao thong", "lam duong", "be tong hoa", "duong lien thon", "xi mang"),
    "irrigation": ("thuy loi", "kenh muong"),
    "culture-sports": ("nha van hoa", "the thao"),
    "office-equipment": ("trang thiet bi", "may tinh"),
    "party-building": ("xay dung dang", "chi bo"),
    "defence": ("quoc phong", "dan quan"),
}


class Terms:
    """Assignments and twinnings in memory: was X in charge of / twinned with Y on day D?"""

    def __init__(self):
        self.assigned: dict[tuple[int, int], list] = defaultdict(list)
        self.twinned: dict[tuple[int, int], list] = defaultdict(list)
        for agency_id, commune_id, start, end in Assignment.objects.values_list(
            "agency_id", "commune_id", "start_date", "end_date"
        ):
            self.assigned[agency_id, commune_id].append((start, end))
        for enterprise_id, commune_id, start, end in Twinning.objects.values_list(
            "enterprise_id", "commune_id", "start_date", "end_date"
        ):
            self.twinned[enterprise_id, commune_id].append((start, end))
        self.agency_communes: dict[int, set[int]] = defaultdict(set)
        for agency_id, commune_id in self.assigned:
            self.agency_communes[agency_id].add(commune_id)

    @staticmethod
    def _on(terms, day) -> bool:
        return any(start <= day and (end is None or day <= end) for start, end in terms)

    def is_assigned(self, agency_id: int, commune_id: int, day: date) -> bool:
        return self._on(self.assigned.get((agency_id, commune_id), ()), day)

    def is_twinned(self, enterprise_id: int, commune_id: int, day: date) -> bool:
        return self._on(self.twinned.get((enterprise_id, commune_id), ()), day)


class ChoiceMap:
    """Labels in Vietnamese and English, the stored codes and synonyms, all pointing to the code."""

    def __init__(self, choices, *extra: tuple[str, str]):
        from django.utils import translation  # noqa: PLC0415

        self.choices = list(choices)
        self.mapping: dict[str, str] = {}
        for value, label in self.choices:
            self.mapping[key(value)] = value
            for language in ("vi", "en"):
                with translation.override(language):
                    self.mapping[key(str(label))] = value
        for synonym, value in extra:
            self.mapping[key(synonym)] = value

    def parse(self, raw, *, column_label: str) -> str | None:
        if not text(raw):
            return None
        try:
            return self.mapping[key(raw)]
        except KeyError:
            allowed = "; ".join(str(label) for _value, label in self.choices)
            raise CellError(
                _("“%(value)s” is not a valid %(column)s. Allowed: %(choices)s.")
                % {"value": text(raw), "column": column_label, "choices": allowed}
            ) from None


AREA_SYNONYMS = (
    ("kinh tế", Area.ECONOMY),
    ("phát triển kinh tế", Area.ECONOMY),
    ("nông thôn mới", Area.NTM),
    ("xây dựng nông thôn mới", Area.NTM),
    ("NTM", Area.NTM),
    ("xây dựng Đảng", Area.PARTY),
    ("xây dựng Đảng, hệ thống chính trị", Area.PARTY),
    ("quốc phòng", Area.DEFENCE),
    ("quốc phòng an ninh", Area.DEFENCE),
    ("an sinh xã hội", Area.WELFARE),
    ("an sinh", Area.WELFARE),
)
