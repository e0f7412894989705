"""Synthetic national-scale data, written with PostgreSQL COPY (never row by row through the ORM).

Consistent with the database's constraints: every record's commune exists on the record's date
(legacy communes until 30/6/2025, current ones from 1/7/2025), its agency is assigned to, or its
enterprise twinned with, that commune for the whole of that time (one lead agency per commune),
each contribution has exactly one contributor, values are whole đồng and labour is workdays ×
daily rate. The outbox triggers are switched off while loading (in the loading transaction) and
the rollups are rebuilt afterwards by the benchmark's first measurement.
"""

import bisect
import json
import random
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from bench.scales import ITEMS_PER_PLAN, Scale

BENCH_PASSWORD = "bench-password-2026"
PROGRAMME_CODE = "bench"
AREAS = ["economy", "ntm", "party", "defence", "welfare"]
OUTBOX_TRIGGERS = {
    "programme_contribution": "programme_contribution_outbox",
    "programme_visit": "programme_visit_outbox",
    "programme_difficulty": "programme_difficulty_outbox",
    "programme_planitem": "programme_planitem_outbox",
    "programme_plan": "programme_plan_outbox",
}
# Keep the seeded taxonomy and the administrative units; everything else is regenerated.
KEEP_MODELS = {"programme.contributioncategory", "programme.historicalcontributioncategory"}
WIPE_APPS = ("programme", "partners", "reports")
WIPE_COMMUNES_MODELS = {
    "designation",
    "historicaldesignation",
    "criterionassessment",
    "ntmrecognition",
}

PHRASE = (
    "hỗ trợ xây dựng đường giao thông nông thôn nhà văn hóa thôn học bổng cho học sinh nghèo "
    "giống cây trồng phân bón bò giống nhà đại đoàn kết khám bệnh cấp thuốc miễn phí kênh mương "
    "thủy lợi điện chiếu sáng trang thiết bị chi bộ sinh hoạt đảng viên tuyên truyền vận động"
)
WORDS = PHRASE.split(" ")
UNITS = ["con", "tấn", "bộ", "suất", "căn", "km", "m", "cái"]


@dataclass
class Commune:
    id: int
    first: date  # first day records may be dated (programme start or the unit's creation)
    last: date  # last day (the unit's end or today)
    agencies: list[int] = field(default_factory=list)
    enterprises: list[int] = field(default_factory=list)


@dataclass
class Eras:
    """Spans of days over which the same communes exist, to pick (day, commune) pairs."""

    starts: list[date]
    lengths: list[int]
    communes: list[list[Commune]]
    cumulative: list[int]

    @classmethod
    def of(cls, communes: list[Commune]) -> "Eras":
        bounds = sorted(
            {c.first for c in communes} | {c.last + timedelta(days=1) for c in communes}
        )
        starts, lengths, members = [], [], []
        for begin, end in zip(bounds, bounds[1:], strict=False):
            alive = [c for c in communes if c.first <= begin and end - timedelta(days=1) <= c.last]
            if alive:
                starts.append(begin)
                lengths.append((end - begin).days)
                members.append(alive)
        cumulative, total = [], 0
        for length in lengths:
            total += length
            cumulative.append(total)
        return cls(starts, lengths, members, cumulative)

    def pick(self, rng: random.Random) -> tuple[date, Commune]:
        at = rng.randrange(self.cumulative[-1])
        era = bisect.bisect_right(self.cumulative, at)
        offset = at - (self.cumulative[era - 1] if era else 0)
        return self.starts[era] + timedelta(days=offset), rng.choice(self.communes[era])


def _defaults(table: str, columns: list[str]) -> tuple[list[str], tuple]:
    """Columns of the table's model that the generator does not name, with their defaults
    (a field added to a model later gets its default instead of breaking the COPY)."""
    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    names, values = [], []
    for model_field in model._meta.concrete_fields:
        if (
            model_field.primary_key
            or model_field.column in columns
            or getattr(model_field, "generated", False)
        ):
            continue
        default = model_field.get_default()
        if default is None and not model_field.null:
            raise ValueError(f"bench.generate: give {table}.{model_field.column} a value")
        names.append(model_field.column)
        values.append(model_field.get_db_prep_save(default, connection))
    return names, tuple(values)


def _copy(table: str, columns: list[str], rows) -> int:
    extra_columns, extra_values = _defaults(table, columns)
    count = 0
    with connection.cursor() as cursor:
        sql = f"COPY {table} ({', '.join([*columns, *extra_columns])}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row((*row, *extra_values))
                count += 1
    return count


RECORD_TABLES = (
    "programme_contribution",
    "programme_visit",
    "programme_difficulty",
    "programme_plan",
    "programme_planitem",
)


def _drop_indexes(tables: tuple[str, ...]) -> list[str]:
    """Drop the plain secondary indexes of these tables (not the ones behind a constraint):
    building them once after the load is much faster than updating them row by row.
    Returns the statements that recreate them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
               FROM pg_index i
               WHERE i.indrelid = ANY(%s::regclass[])
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
            [list(tables)],
        )
        found = cursor.fetchall()
        for name, _definition in found:
            cursor.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in found]


def _text(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high))).capitalize()


def wipe() -> None:
    """Empty every table the generator fills (and what points at them), keep units and taxonomy."""
    tables = set()
    for model in apps.get_models(include_auto_created=True):
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        if label in KEEP_MODELS:
            continue
        if model._meta.app_label in WIPE_APPS or (
            model._meta.app_label == "communes" and model._meta.model_name in WIPE_COMMUNES_MODELS
        ):
            tables.add(model._meta.db_table)
    tables.add(get_user_model()._meta.db_table)
    # Models whose migration is not written yet have no table to empty.
    tables &= set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(sorted(tables))} RESTART IDENTITY CASCADE")


def _units(all_units: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM communes_adminunit WHERE level = 'commune'")
        have = cursor.fetchone()[0]
    if all_units and have < 5000:
        call_command("load_admin_units", "--all", verbosity=0)
    elif not all_units and have == 0:
        call_command("load_admin_units", verbosity=0)


def _communes(start: date, today: date) -> list[Commune]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, valid_from, valid_until FROM communes_adminunit WHERE level = 'commune' "
            "ORDER BY id"
        )
        result = []
        for pk, valid_from, valid_until in cursor.fetchall():
            first = max(valid_from or start, start)
            last = min(valid_until or today, today)
            if first <= last:
                result.append(Commune(pk, first, last))
    return result


def generate(scale: Scale, *, seed: int = 140, log=print) -> dict:
    """Fill the current database with `scale`'s data. Returns counts and timings."""
    rng = random.Random(seed)
    today = timezone.localdate()
    start = settings.PROGRAMME_START_DATE
    now = timezone.now()
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}

    def step(name: str, began: float) -> None:
        timings[name] = time.perf_counter() - began
        log(f"  {name}: {counts.get(name, '')} in {timings[name]:.1f} s")

    began = time.perf_counter()
    wipe()
    _units(scale.all_units)
    communes = _communes(start, today)
    counts["communes"] = len(communes)
    step("communes", began)

    with transaction.atomic():
        with connection.cursor() as cursor:
            for table, trigger in OUTBOX_TRIGGERS.items():
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        indexes = _drop_indexes(RECORD_TABLES)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, area FROM programme_contributioncategory WHERE active ORDER BY id"
            )
            categories = cursor.fetchall()
            cursor.execute(
                "INSERT INTO communes_programme (code, name, decision_reference, started_on, "
                "description, cell_meetings_per_month) VALUES (%s, %s, %s, %s, '', 1) "
                "ON CONFLICT (code) DO UPDATE SET started_on = EXCLUDED.started_on RETURNING id",
                [PROGRAMME_CODE, "Xã đặc thù (dữ liệu đo hiệu năng)", "bench", start],
            )
            programme_id = cursor.fetchone()[0]

        began = time.perf_counter()
        counts["designations"] = _copy(
            "communes_designation",
            [
                "programme_id",
                "commune_id",
                "valid_from",
                "valid_until",
                "decision_reference",
                "note",
                "is_demo",
            ],
            (
                (
                    programme_id,
                    c.id,
                    c.first,
                    None if c.last == today else c.last,
                    "bench",
                    "",
                    False,
                )
                for c in communes
            ),
        )
        step("designations", began)

        began = time.perf_counter()
        counts["agencies"] = _copy(
            "partners_agency",
            ["name", "short_name", "kind", "contact_name", "phone", "email", "address", "is_demo"],
            (
                (
                    f"Cơ quan đo hiệu năng số {n:04d}",
                    f"CQ {n:04d}",
                    rng.choice(["party", "state", "mass", "armed", "service"]),
                    "",
                    "",
                    "",
                    "",
                    False,
                )
                for n in range(1, scale.agencies + 1)
            ),
        )
        counts["enterprises"] = _copy(
            "partners_enterprise",
            ["name", "tax_code", "sector", "address", "contact_name", "phone", "email", "is_demo"],
            (
                (
                    f"Công ty đo hiệu năng số {n:04d}",
                    f"{9_000_000_000 + n:010d}",
                    "",
                    "",
                    "",
                    "",
                    "",
                    False,
                )
                for n in range(1, scale.enterprises + 1)
            ),
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM partners_agency ORDER BY id")
            agency_ids = [row[0] for row in cursor.fetchall()]
            cursor.execute("SELECT id FROM partners_enterprise ORDER BY id")
            enterprise_ids = [row[0] for row in cursor.fetchall()]
        step("agencies", began)

        # Terms cover each commune's whole life in the programme: lead agency, sometimes a
        # co-responsible one, one or two twinned enterprises.
        began = time.perf_counter()
        assignments, twinnings = [], []
        for commune in communes:
            end = None if commune.last == today else commune.last
            lead = rng.choice(agency_ids)
            commune.agencies.append(lead)
            assignments.append((lead, commune.id, "lead", commune.first, end, "bench", "", False))
            if rng.random() < 0.2 and len(agency_ids) > 1:
                co = rng.choice([a for a in rng.sample(agency_ids, 2) if a != lead])
                commune.agencies.append(co)
                assignments.append((co, commune.id, "co", commune.first, end, "bench", "", False))
            for enterprise in rng.sample(
                enterprise_ids, min(len(enterprise_ids), rng.randint(1, 2))
            ):
                commune.enterprises.append(enterprise)
                twinnings.append(
                    (enterprise, commune.id, "lead", commune.first, end, "bench", "", False)
                )
        term_columns = [
            "commune_id",
            "role",
            "start_date",
            "end_date",
            "decision_reference",
            "note",
            "is_demo",
        ]
        counts["assignments"] = _copy(
            "partners_assignment", ["agency_id", *term_columns], assignments
        )
        counts["twinnings"] = _copy(
            "partners_twinning", ["enterprise_id", *term_columns], twinnings
        )
        step("assignments", began)

        eras = Eras.of(communes)

        began = time.perf_counter()
        counts["contributions"] = _copy(
            "programme_contribution",
            [
                "version",
                "created_at",
                "is_demo",
                "date",
                "commune_id",
                "agency_id",
                "enterprise_id",
                "category_id",
                "area",
                "form",
                "value",
                "workdays",
                "daily_rate",
                "quantity",
                "unit",
                "beneficiaries",
                "description",
                "status",
            ],
            _contribution_rows(rng, eras, categories, scale.contributions, now),
        )
        step("contributions", began)

        began = time.perf_counter()
        counts["visits"] = _copy(
            "programme_visit",
            [
                "version",
                "created_at",
                "is_demo",
                "date",
                "commune_id",
                "agency_id",
                "kind",
                "village",
                "participants_count",
                "participant_names",
                "summary",
                "follow_ups",
            ],
            _visit_rows(rng, eras, scale.visits, now),
        )
        step("visits", began)

        began = time.perf_counter()
        counts["difficulties"] = _copy(
            "programme_difficulty",
            [
                "version",
                "created_at",
                "is_demo",
                "raised_on",
                "commune_id",
                "area",
                "description",
                "proposal",
                "owner",
                "status",
                "resolution",
                "resolved_on",
                "unresolvable_reason",
            ],
            _difficulty_rows(rng, eras, scale.difficulties, now, today),
        )
        step("difficulties", began)

        began = time.perf_counter()
        pairs = set()
        for _attempt in range(scale.plans * 5):
            if len(pairs) >= scale.plans:
                break
            day, commune = eras.pick(rng)
            pairs.add((commune.id, day.year))
        counts["plans"] = _copy(
            "programme_plan",
            [
                "version",
                "created_at",
                "is_demo",
                "commune_id",
                "year",
                "status",
                "agreed_on",
                "note",
            ],
            (
                (
                    1,
                    now,
                    False,
                    commune_id,
                    year,
                    *(
                        ("agreed", min(date(year, 1, 15), today))
                        if rng.random() < 0.8
                        else ("draft", None)
                    ),
                    "",
                )
                for commune_id, year in sorted(pairs)
            ),
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, year FROM programme_plan ORDER BY id")
            plans = cursor.fetchall()
        counts["plan items"] = _copy(
            "programme_planitem",
            [
                "version",
                "created_at",
                "is_demo",
                "plan_id",
                "area",
                "title",
                "description",
                "period_kind",
                "period_number",
                "responsible",
                "target_text",
                "target_value",
                "status",
                "completed_on",
            ],
            _plan_item_rows(rng, plans, now, today),
        )
        counts["plans"] = len(plans)
        step("plans", began)

        with connection.cursor() as cursor:
            # Check the deferred foreign keys now: a table with pending checks cannot be altered.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for definition in indexes:
                cursor.execute(definition)
        counts["indexes"] = len(indexes)
        step("indexes", began)
        with connection.cursor() as cursor:
            for table, trigger in OUTBOX_TRIGGERS.items():
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
            cursor.execute("TRUNCATE programme_rollupoutbox")

    began = time.perf_counter()
    users = create_users(scale, communes, today)
    counts["users"] = len(users["province"]) + len(users["liaisons"])
    step("users", began)

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    step("analyze", began)
    return {"counts": counts, "timings": timings, "users": users}


def _contribution_rows(rng, eras: Eras, categories, n: int, now):
    for _ in range(n):
        day, commune = eras.pick(rng)
        if rng.random() < 0.4:
            agency, enterprise = rng.choice(commune.agencies), None
        else:
            agency, enterprise = None, rng.choice(commune.enterprises)
        category_id, area = rng.choice(categories)
        area = area or rng.choice(AREAS)
        kind = rng.random()
        workdays = daily_rate = quantity = None
        unit = ""
        if kind < 0.6:
            form, value = "cash", rng.randint(1, 2000) * 100_000
        elif kind < 0.9:
            form = "in_kind"
            quantity = Decimal(rng.randint(1, 500))
            unit = rng.choice(UNITS)
            value = int(quantity) * rng.randint(1, 100) * 50_000
        else:
            form = "labour"
            workdays = Decimal(rng.randint(2, 400)) / 2
            daily_rate = Decimal(rng.randint(20, 50) * 10_000)
            value = (workdays * daily_rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        status = "delivered" if rng.random() < 0.85 else "pledged"
        yield (
            1,
            now,
            False,
            day,
            commune.id,
            agency,
            enterprise,
            category_id,
            area,
            form,
            value,
            workdays,
            daily_rate,
            quantity,
            unit,
            rng.randint(0, 200),
            _text(rng, 4, 12),
            status,
        )


VISIT_KINDS = ["cell_meeting"] * 6 + ["committee", "survey", "working", "working", "other"]


def _visit_rows(rng, eras: Eras, n: int, now):
    for _ in range(n):
        day, commune = eras.pick(rng)
        kind = rng.choice(VISIT_KINDS)
        village = f"Chi bộ thôn {rng.randint(1, 15)}" if kind == "cell_meeting" else ""
        yield (
            1,
            now,
            False,
            day,
            commune.id,
            rng.choice(commune.agencies),
            kind,
            village,
            rng.randint(1, 40),
            "",
            _text(rng, 8, 25),
            _text(rng, 0, 8),
        )


DIFFICULTY_STATUSES = (
    ["open"] * 20
    + ["in_progress"] * 15
    + ["escalated"] * 5
    + ["resolved"] * 30
    + ["confirmed"] * 25
    + ["unresolvable"] * 5
)


def _difficulty_rows(rng, eras: Eras, n: int, now, today: date):
    for _ in range(n):
        day, commune = eras.pick(rng)
        status = rng.choice(DIFFICULTY_STATUSES)
        resolution, resolved_on, reason = "", None, ""
        if status in ("resolved", "confirmed"):
            resolved_on = min(day + timedelta(days=rng.randint(1, 365)), today)
            resolution = _text(rng, 4, 10)
        elif status == "unresolvable":
            reason = _text(rng, 4, 10)
        yield (
            1,
            now,
            False,
            day,
            commune.id,
            rng.choice(AREAS),
            _text(rng, 6, 20),
            _text(rng, 0, 10),
            rng.choice(["commune", "agency", "enterprise", "province"]),
            status,
            resolution,
            resolved_on,
            reason,
        )


def _plan_item_rows(rng, plans, now, today: date):
    for plan_id, year in plans:
        for n in range(ITEMS_PER_PLAN):
            kind = ("year", "quarter", "month")[n % 3]
            number = None if kind == "year" else rng.randint(1, 4 if kind == "quarter" else 12)
            status = rng.choice(["planned", "in_progress", "done", "done", "dropped"])
            completed = None
            if status == "done":
                completed = min(date(year, rng.randint(1, 12), rng.randint(1, 28)), today)
            yield (
                1,
                now,
                False,
                plan_id,
                rng.choice(AREAS),
                _text(rng, 3, 8),
                "",
                kind,
                number,
                rng.choice(["commune", "agency", "enterprise", "province"]),
                "",
                rng.randint(0, 50) * 10_000_000,
                status,
                completed,
            )


def create_users(scale: Scale, communes: list[Commune], today: date) -> dict:
    """Province staff and agency liaisons (with memberships and role groups), few enough for the
    ORM. Liaisons act for agencies that lead a commune today, so they can record today."""
    from partners.models import Membership
    from partners.services import roles_ensure

    User = get_user_model()
    groups = roles_ensure()
    password = make_password(BENCH_PASSWORD)
    province = []
    for n in range(1, 11):
        user = User.objects.create(username=f"bench_tinh_{n:02d}", password=password)
        user.groups.add(groups[Membership.Role.PROVINCE_STAFF])
        Membership.objects.create(user=user, role=Membership.Role.PROVINCE_STAFF)
        province.append(user.username)
    current: dict[int, list[int]] = {}
    for commune in communes:
        if commune.last == today:
            current.setdefault(commune.agencies[0], []).append(commune.id)
    liaisons = []
    for n, (agency_id, commune_ids) in enumerate(sorted(current.items())[: scale.liaisons], 1):
        user = User.objects.create(username=f"bench_lienlac_{n:03d}", password=password)
        user.groups.add(groups[Membership.Role.AGENCY_LIAISON])
        Membership.objects.create(
            user=user, role=Membership.Role.AGENCY_LIAISON, agency_id=agency_id
        )
        liaisons.append({"username": user.username, "agency": agency_id, "communes": commune_ids})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM programme_contributioncategory WHERE active AND area <> '' ORDER BY id"
        )
        categories = [row[0] for row in cursor.fetchall()]
    return {
        "password": BENCH_PASSWORD,
        "province": province,
        "liaisons": liaisons,
        "categories": categories,
        "today": today.strftime("%d/%m/%Y"),
    }


def users_from_db(today: date) -> dict | None:
    """The bench users already in the database (after an earlier run), or None."""
    from partners.models import Assignment, Membership

    memberships = Membership.objects.filter(user__username__startswith="bench_").select_related(
        "user"
    )
    province = sorted(m.user.username for m in memberships if m.role == "province_staff")
    if not province:
        return None
    liaisons = []
    for membership in sorted(
        (m for m in memberships if m.role == "agency_liaison"), key=lambda m: m.user.username
    ):
        communes = list(
            Assignment.objects.filter(agency_id=membership.agency_id, role="lead")
            .active_on(today)
            .values_list("commune_id", flat=True)
        )
        liaisons.append(
            {
                "username": membership.user.username,
                "agency": membership.agency_id,
                "communes": communes,
            }
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM programme_contributioncategory WHERE active AND area <> '' ORDER BY id"
        )
        categories = [row[0] for row in cursor.fetchall()]
    return {
        "password": BENCH_PASSWORD,
        "province": province,
        "liaisons": liaisons,
        "categories": categories,
        "today": today.strftime("%d/%m/%Y"),
    }


def users_file(users: dict, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "users.json"
    path.write_text(json.dumps(users, ensure_ascii=False, indent=1))
    return path
