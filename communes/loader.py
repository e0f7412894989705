"""Reference data: administrative units and their successions.

The units come from the PyPI package `vietnamadminunits`, read in place (never copied here):
- `data/dataset.db`, table `admin_units_legacy`: provinces, districts and communes as of 30/6/2025;
- `data/dataset.db`, table `admin_units`: provinces and communes from 1/7/2025 (no district level);
- `data/converter_2025.json`: which legacy province and commune became which new one, including
  the communes that were divided among several new ones.

Units that ended before 30/6/2025 (e.g. Ninh Xuân, absorbed into Ninh Nhất on 1/1/2025) are not in
the package; they come from `communes/data/historical_units.json`.

Every unit has a natural `source_key` ("legacy:tinhninhbinh_huyenkimson_xachatbinh",
"current:tinhninhbinh_xakimson", "historical:tinhninhbinh_huyenhoalu"), so loading twice updates
rows in place and adds nothing. All writes are set-based (bulk create and bulk update, with their
history rows) inside one transaction.
"""

import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from communes.models import AdminUnit, Succession
from communes.text import fold

LEGACY_UNTIL = date(2025, 6, 30)
CURRENT_FROM = date(2025, 7, 1)
PROVINCE_REFERENCE = "Nghị quyết 202/2025/QH15"
# Each new province's communes were set by its own resolution of the NA Standing Committee.
COMMUNE_REFERENCES = {"tinhninhbinh": "Nghị quyết 1674/NQ-UBTVQH15"}
GENERIC_COMMUNE_REFERENCE = "Nghị quyết của UBTVQH về sắp xếp ĐVHC cấp xã năm 2025"
HISTORICAL_FILE = Path(__file__).resolve().parent / "data" / "historical_units.json"
CHANGE_REASON = "load_admin_units"
BATCH_SIZE = 2000

_COORDINATE_STEP = Decimal("0.000001")
# The AdminUnit columns the loader owns; anything else (e.g. a note) is left alone.
_UNIT_FIELDS = (
    "level",
    "kind",
    "code",
    "name",
    "parent_id",
    "valid_from",
    "valid_until",
    "latitude",
    "longitude",
    "source",
)
_LEVELS = (AdminUnit.Level.PROVINCE, AdminUnit.Level.DISTRICT, AdminUnit.Level.COMMUNE)
# Longest prefix first, so that "Thành phố" is tried before shorter ones.
_KIND_BY_PREFIX = sorted(
    ((prefix.casefold(), kind) for kind, prefix in AdminUnit.KIND_PREFIX.items()),
    key=lambda item: -len(item[0]),
)
_KIND_BY_TYPE = dict(_KIND_BY_PREFIX)

_LEGACY_SQL = """
    SELECT province, provinceCode, provinceLat, provinceLon, provinceKey, provinceKeywords,
           district, districtType, districtCode, districtLat, districtLon, districtKey,
           ward, wardType, wardCode, wardLat, wardLon, wardKey
    FROM admin_units_legacy
    ORDER BY provinceCode, districtCode, wardCode
"""
_CURRENT_SQL = """
    SELECT province, provinceCode, provinceLat, provinceLon, provinceKey, provinceKeywords,
           ward, wardType, wardCode, wardLat, wardLon, wardKey
    FROM admin_units
    ORDER BY provinceCode, wardCode
"""


class UnknownProvinceError(ValueError):
    """No province of the package matches the name that was asked for."""


@dataclass(frozen=True)
class UnitData:
    """One unit as the reference data describes it; `parent_key` is the parent's source key."""

    key: str
    level: str
    kind: str
    name: str
    source: str
    code: str = ""
    parent_key: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None

    def field_values(self, *, parent_id: int | None) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in _UNIT_FIELDS if name != "parent_id"}
        return {**values, "parent_id": parent_id}


@dataclass(frozen=True)
class SuccessionData:
    predecessor_key: str
    successor_key: str
    effective_date: date
    legal_reference: str
    partial: bool = False
    is_default: bool = True


@dataclass(frozen=True)
class ProvinceSelection:
    """Package keys of the provinces to load, as of 30/6/2025 (legacy) and from 1/7/2025."""

    legacy: frozenset[str]
    current: frozenset[str]


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class LoadResult:
    legacy_provinces: list[str] = field(default_factory=list)
    current_provinces: list[str] = field(default_factory=list)
    units: Counts = field(default_factory=Counts)
    successions: Counts = field(default_factory=Counts)


@dataclass(frozen=True)
class _Package:
    legacy: list[dict[str, Any]]
    current: list[dict[str, Any]]
    converter: dict[str, Any]


@cache
def _package() -> _Package:
    """The package's data, read once per process."""
    data = resources.files("vietnamadminunits") / "data"
    with resources.as_file(data / "dataset.db") as path:
        uri = f"{Path(path).resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            connection.row_factory = sqlite3.Row
            legacy = [dict(row) for row in connection.execute(_LEGACY_SQL)]
            current = [dict(row) for row in connection.execute(_CURRENT_SQL)]
    converter = json.loads((data / "converter_2025.json").read_text(encoding="utf-8"))
    return _Package(legacy=legacy, current=current, converter=converter)


def split_name(full_name: str, unit_type: str | None = None) -> tuple[str, str]:
    """ "Xã Chất Bình" → ("xa", "Chất Bình").

    The prefix of the name wins over the package's type column, which is wrong for a few units.
    """
    text = " ".join(unicodedata.normalize("NFC", full_name).split())
    folded = text.casefold()
    for prefix, kind in _KIND_BY_PREFIX:
        if folded.startswith(prefix + " "):
            return kind, text[len(prefix) + 1 :]
    kind = _KIND_BY_TYPE.get((unit_type or "").casefold())
    if kind is None:
        raise ValueError(f"Cannot tell the kind of unit of {full_name!r}")
    return kind, text


def _squash(text: str) -> str:
    """ "Tỉnh Ninh Bình" → "tinhninhbinh", the shape of the package's keys and keywords."""
    return re.sub(r"[^a-z0-9]", "", fold(text))


def _province_matches(row: dict[str, Any], wanted: str) -> bool:
    keywords = set(json.loads(row["provinceKeywords"] or "[]"))
    keywords |= {row["provinceKey"], _squash(row["province"])}
    keywords.add(_squash(split_name(row["province"])[1]))
    return wanted in keywords


def select_provinces(*, province: str | None, everything: bool) -> ProvinceSelection:
    """The provinces to load for a name, with or without diacritics or "Tỉnh"/"Thành phố".

    A legacy province brings the new province it merged into, so that each of its communes gets
    its successor. A new province does not bring the legacy provinces it came from.
    """
    package = _package()
    if everything:
        return ProvinceSelection(
            legacy=frozenset(row["provinceKey"] for row in package.legacy),
            current=frozenset(row["provinceKey"] for row in package.current),
        )
    wanted = _squash(province or "")
    legacy = frozenset(
        row["provinceKey"] for row in package.legacy if wanted and _province_matches(row, wanted)
    )
    current = {
        row["provinceKey"] for row in package.current if wanted and _province_matches(row, wanted)
    }
    if not legacy and not current:
        raise UnknownProvinceError(
            _(
                "No province is called “%(name)s”. Give a name such as “Ninh Bình” or "
                "“ninh binh”, or load the whole country with --all."
            )
            % {"name": province or ""}
        )
    for new_key, old_keys in package.converter["DICT_PROVINCE"].items():
        if legacy.intersection(old_keys):
            current.add(new_key)
    return ProvinceSelection(legacy=legacy, current=frozenset(current))


def _coordinate(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value)).quantize(_COORDINATE_STEP)


def _legacy_units(rows: Iterable[dict[str, Any]]) -> dict[str, UnitData]:
    units: dict[str, UnitData] = {}
    common = {"source": AdminUnit.Source.LEGACY, "valid_until": LEGACY_UNTIL}
    for row in rows:
        province_key = f"legacy:{row['provinceKey']}"
        if province_key not in units:
            kind, name = split_name(row["province"])
            units[province_key] = UnitData(
                key=province_key,
                level=AdminUnit.Level.PROVINCE,
                kind=kind,
                name=name,
                code=row["provinceCode"] or "",
                latitude=_coordinate(row["provinceLat"]),
                longitude=_coordinate(row["provinceLon"]),
                **common,
            )
        district_key = f"{province_key}_{row['districtKey']}"
        if district_key not in units:
            kind, name = split_name(row["district"], row["districtType"])
            units[district_key] = UnitData(
                key=district_key,
                level=AdminUnit.Level.DISTRICT,
                kind=kind,
                name=name,
                code=row["districtCode"] or "",
                parent_key=province_key,
                latitude=_coordinate(row["districtLat"]),
                longitude=_coordinate(row["districtLon"]),
                **common,
            )
        if row["wardKey"]:  # a few island districts have no commune
            commune_key = f"{district_key}_{row['wardKey']}"
            kind, name = split_name(row["ward"], row["wardType"])
            units[commune_key] = UnitData(
                key=commune_key,
                level=AdminUnit.Level.COMMUNE,
                kind=kind,
                name=name,
                code=row["wardCode"] or "",
                parent_key=district_key,
                latitude=_coordinate(row["wardLat"]),
                longitude=_coordinate(row["wardLon"]),
                **common,
            )
    return units


def _current_units(rows: Iterable[dict[str, Any]]) -> dict[str, UnitData]:
    units: dict[str, UnitData] = {}
    common = {"source": AdminUnit.Source.CURRENT, "valid_from": CURRENT_FROM}
    for row in rows:
        province_key = f"current:{row['provinceKey']}"
        if province_key not in units:
            kind, name = split_name(row["province"])
            units[province_key] = UnitData(
                key=province_key,
                level=AdminUnit.Level.PROVINCE,
                kind=kind,
                name=name,
                code=row["provinceCode"] or "",
                latitude=_coordinate(row["provinceLat"]),
                longitude=_coordinate(row["provinceLon"]),
                **common,
            )
        commune_key = f"{province_key}_{row['wardKey']}"
        kind, name = split_name(row["ward"], row["wardType"])
        units[commune_key] = UnitData(
            key=commune_key,
            level=AdminUnit.Level.COMMUNE,
            kind=kind,
            name=name,
            code=row["wardCode"] or "",
            parent_key=province_key,
            latitude=_coordinate(row["wardLat"]),
            longitude=_coordinate(row["wardLon"]),
            **common,
        )
    return units


def _successions_2025(
    converter: dict[str, Any], selection: ProvinceSelection, units: dict[str, UnitData]
) -> list[SuccessionData]:
    """Legacy province → new province, and legacy commune → new commune(s), on 1/7/2025."""
    successions: list[SuccessionData] = []

    def add(
        old_key: str, new_key: str, reference: str, *, partial: bool, is_default: bool = True
    ) -> None:
        # An island district without communes ("tinhquangngai_huyenlyson_") became a special zone.
        predecessor = f"legacy:{old_key.rstrip('_')}"
        if predecessor in units:
            successions.append(
                SuccessionData(
                    predecessor_key=predecessor,
                    successor_key=new_key,
                    effective_date=CURRENT_FROM,
                    legal_reference=reference,
                    partial=partial,
                    is_default=is_default,
                )
            )

    for new_province in sorted(selection.current):
        province_key = f"current:{new_province}"
        for old_province in converter["DICT_PROVINCE"].get(new_province, []):
            add(old_province, province_key, PROVINCE_REFERENCE, partial=False)
        reference = COMMUNE_REFERENCES.get(new_province, GENERIC_COMMUNE_REFERENCE)
        merged = converter["DICT_PROVINCE_WARD_NO_DIVIDED"].get(new_province, {})
        for new_ward, old_keys in merged.items():
            for old_key in old_keys:
                add(old_key, f"{province_key}_{new_ward}", reference, partial=False)
        divided = converter["DICT_PROVINCE_WARD_DIVIDED"].get(new_province, {})
        for old_key, parts in divided.items():
            for part in parts:
                new_key = f"{province_key}_{part['newWardKey']}"
                add(
                    old_key,
                    new_key,
                    reference,
                    partial=True,
                    is_default=bool(part.get("isDefaultNewWard")),
                )
    return successions


def _historical(
    selection: ProvinceSelection,
) -> tuple[dict[str, UnitData], list[SuccessionData]]:
    """Units that ended before 30/6/2025, for the legacy provinces being loaded."""
    data = json.loads(HISTORICAL_FILE.read_text(encoding="utf-8"))
    units = {
        f"historical:{item['key']}": UnitData(
            key=f"historical:{item['key']}",
            level=item["level"],
            kind=item["kind"],
            name=item["name"],
            code=item.get("code", ""),
            parent_key=item["parent"],
            valid_from=date.fromisoformat(item["valid_from"]) if item.get("valid_from") else None,
            valid_until=date.fromisoformat(item["valid_until"]),
            source=AdminUnit.Source.MANUAL,
        )
        for item in data["units"]
        if item["province"] in selection.legacy
    }
    successions = [
        SuccessionData(
            predecessor_key=item["predecessor"],
            successor_key=item["successor"],
            effective_date=date.fromisoformat(item["effective_date"]),
            legal_reference=item["legal_reference"],
            partial=item.get("partial", False),
        )
        for item in data["successions"]
        if item["predecessor"] in units
    ]
    return units, successions


def _write_units(units: dict[str, UnitData], counts: Counts) -> dict[str, int]:
    """Create the missing units and update the changed ones, parents first; key → id."""
    existing = {
        unit.source_key: unit for unit in AdminUnit.objects.filter(source_key__in=list(units))
    }
    ids: dict[str, int] = {}
    fields = [name.removesuffix("_id") for name in _UNIT_FIELDS]
    for level in _LEVELS:
        to_create: list[AdminUnit] = []
        to_update: list[AdminUnit] = []
        for data in units.values():
            if data.level != level:
                continue
            parent_id = ids[data.parent_key] if data.parent_key else None
            values = data.field_values(parent_id=parent_id)
            unit = existing.get(data.key)
            if unit is None:
                unit = AdminUnit(source_key=data.key, **values)
                to_create.append(unit)
            elif any(getattr(unit, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(unit, name, value)
                to_update.append(unit)
            else:
                ids[data.key] = unit.pk
                counts.unchanged += 1
                continue
            # The foreign key is left to the database: checking it here costs a query per row.
            unit.full_clean(exclude=["parent"], validate_unique=False, validate_constraints=False)
        created = bulk_create_with_history(
            to_create, AdminUnit, batch_size=BATCH_SIZE, default_change_reason=CHANGE_REASON
        )
        bulk_update_with_history(
            to_update,
            AdminUnit,
            fields=fields,
            batch_size=BATCH_SIZE,
            default_change_reason=CHANGE_REASON,
        )
        ids.update((unit.source_key, unit.pk) for unit in [*created, *to_update])
        counts.created += len(created)
        counts.updated += len(to_update)
    return ids


def _write_successions(
    successions: list[SuccessionData], ids: dict[str, int], counts: Counts
) -> None:
    wanted = {(ids[item.predecessor_key], ids[item.successor_key]): item for item in successions}
    existing = {
        (row.predecessor_id, row.successor_id): row
        for row in Succession.objects.filter(
            predecessor_id__in={predecessor for predecessor, _ in wanted}
        )
    }
    fields = ["effective_date", "legal_reference", "partial", "is_default"]
    to_create: list[Succession] = []
    to_update: list[Succession] = []
    for (predecessor_id, successor_id), item in wanted.items():
        values = {
            "effective_date": item.effective_date,
            "legal_reference": item.legal_reference,
            "partial": item.partial,
            "is_default": item.is_default,
        }
        row = existing.get((predecessor_id, successor_id))
        if row is None:
            row = Succession(predecessor_id=predecessor_id, successor_id=successor_id, **values)
            to_create.append(row)
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            to_update.append(row)
        else:
            counts.unchanged += 1
            continue
        row.full_clean(
            exclude=["predecessor", "successor"], validate_unique=False, validate_constraints=False
        )
    bulk_create_with_history(
        to_create, Succession, batch_size=BATCH_SIZE, default_change_reason=CHANGE_REASON
    )
    bulk_update_with_history(
        to_update,
        Succession,
        fields=fields,
        batch_size=BATCH_SIZE,
        default_change_reason=CHANGE_REASON,
    )
    counts.created += len(to_create)
    counts.updated += len(to_update)


def admin_units_load(*, province: str | None = None, everything: bool = False) -> LoadResult:
    """Load one province (by name) or, with `everything`, the whole country. Idempotent."""
    if not everything and not province:
        raise ValueError("Give a province name or everything=True.")
    selection = select_provinces(province=province, everything=everything)
    package = _package()
    legacy_rows = [row for row in package.legacy if row["provinceKey"] in selection.legacy]
    current_rows = [row for row in package.current if row["provinceKey"] in selection.current]
    units = _legacy_units(legacy_rows) | _current_units(current_rows)
    successions = _successions_2025(package.converter, selection, units)
    historical_units, historical_successions = _historical(selection)
    units |= historical_units
    successions += historical_successions

    result = LoadResult(
        legacy_provinces=[
            f"{AdminUnit.KIND_PREFIX[unit.kind]} {unit.name}"
            for unit in units.values()
            if unit.level == AdminUnit.Level.PROVINCE and unit.source == AdminUnit.Source.LEGACY
        ],
        current_provinces=[
            f"{AdminUnit.KIND_PREFIX[unit.kind]} {unit.name}"
            for unit in units.values()
            if unit.level == AdminUnit.Level.PROVINCE and unit.source == AdminUnit.Source.CURRENT
        ],
    )
    with transaction.atomic():
        ids = _write_units(units, result.units)
        _write_successions(successions, ids, result.successions)
    return result
