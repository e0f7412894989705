"""NTM criteria sets are data (communes/data/ntm_criteria.json), loaded here idempotently."""

import json
from pathlib import Path
from typing import Any

from django.db import transaction

from communes.models import CriteriaSet, Criterion

CRITERIA_FILE = Path(__file__).resolve().parent / "data" / "ntm_criteria.json"

SET_FIELDS = ("name", "legal_reference", "first_year", "last_year", "has_advanced_levels", "note")
CRITERION_FIELDS = ("group", "name")


def _upsert(model, *, lookup: dict[str, Any], values: dict[str, Any]) -> tuple[Any, str]:
    """Create the row, update it when a value differs, or leave it alone.

    Returns the row and "created", "updated" or "unchanged". Unlike `update_or_create`, an
    unchanged row is not saved again, so a reload adds no history records.
    """
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj.full_clean()
        obj.save()
        return obj, "created"
    changed = [field for field, value in values.items() if getattr(obj, field) != value]
    if not changed:
        return obj, "unchanged"
    for field in changed:
        setattr(obj, field, values[field])
    obj.full_clean()
    obj.save(update_fields=changed)
    return obj, "updated"


def ntm_criteria_load(*, path: Path = CRITERIA_FILE) -> dict[str, int]:
    """Create or update every criteria set and criterion in the data file.

    Sets are matched by `code` and criteria by (set, number). Criteria missing from the file
    are left in place: assessments may point at them. Returns counts per outcome.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    counts = {
        "sets_created": 0,
        "sets_updated": 0,
        "sets_unchanged": 0,
        "criteria_created": 0,
        "criteria_updated": 0,
        "criteria_unchanged": 0,
    }
    with transaction.atomic():
        for entry in data["criteria_sets"]:
            criteria_set, outcome = _upsert(
                CriteriaSet,
                lookup={"code": entry["code"]},
                values={field: entry[field] for field in SET_FIELDS},
            )
            counts[f"sets_{outcome}"] += 1
            for item in entry["criteria"]:
                _criterion, outcome = _upsert(
                    Criterion,
                    lookup={"criteria_set": criteria_set, "number": item["number"]},
                    values={field: item[field] for field in CRITERION_FIELDS},
                )
                counts[f"criteria_{outcome}"] += 1
    return counts
