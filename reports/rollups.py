"""Keeping the rollup tables equal to the raw records, with set-based SQL.

Three ways in, one set of statements:
- `outbox_drain()` refreshes the cells (kind × commune × reporting month) that writes left in the
  programme's outbox;
- `rollups_rebuild(year)` recomputes a whole year (or everything);
- `rollups_reconcile(years)` compares the tables with the raw sums, repairs and logs any drift.

A refresh of cells is one statement per table: an upsert from a GROUP BY over the source rows of
those cells, deleting the rows of those cells that no longer exist. Running it twice, at the same
time, or after a crash gives the same rows; cells are locked (advisory locks) while refreshed.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction

from communes.models import AdminUnit
from programme.periods import Period, reporting_month, reporting_month_sql, uses_decree_09

logger = logging.getLogger(__name__)

CLOSED_DIFFICULTY = "('resolved', 'confirmed', 'unresolvable')"
RESOLVED_DIFFICULTY = "('resolved', 'confirmed')"
PLAN_DUE = (
    "make_date(p.year, CASE i.period_kind WHEN 'month' THEN i.period_number "
    "WHEN 'quarter' THEN i.period_number * 3 ELSE 12 END, 1)"
)


@dataclass(frozen=True)
class Spec:
    kind: str  # the outbox kind
    table: str
    keys: tuple[str, ...]  # key columns beside month and commune_id
    values: tuple[str, ...]
    select: Callable[[Callable[[str], str]], str]
    # select(scope) → "SELECT month, commune_id, keys…, values… FROM … GROUP BY …", where
    # scope(date_sql) gives the join/filter that limits source rows to the wanted cells or range.


def _contributions(scope) -> str:
    month = reporting_month_sql("c.date")
    return f"""
        SELECT {month} AS month, c.commune_id, c.agency_id, c.enterprise_id, c.category_id,
               c.area, c.form, c.status, SUM(c.value) AS total_value, COUNT(*) AS count
        FROM programme_contribution c {scope("c.date", "c.commune_id")}
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"""


def _visits(scope) -> str:
    month = reporting_month_sql("v.date")
    return f"""
        SELECT {month} AS month, v.commune_id, v.agency_id, v.kind, COUNT(*) AS count
        FROM programme_visit v {scope("v.date", "v.commune_id")}
        GROUP BY 1, 2, 3, 4"""


def _difficulties(scope) -> str:
    raised = reporting_month_sql("d.raised_on")
    resolved = reporting_month_sql("d.resolved_on")
    return f"""
        SELECT month, commune_id, area, SUM(raised) AS raised, SUM(resolved) AS resolved
        FROM (
            SELECT {raised} AS month, d.commune_id, d.area, 1 AS raised, 0 AS resolved
            FROM programme_difficulty d {scope("d.raised_on", "d.commune_id")}
            UNION ALL
            SELECT {resolved}, d.commune_id, d.area, 0, 1
            FROM programme_difficulty d {scope("d.resolved_on", "d.commune_id")}
            {"AND" if "WHERE" in scope("d.resolved_on", "d.commune_id") else "WHERE"}
                d.status IN {RESOLVED_DIFFICULTY}
        ) AS events
        GROUP BY 1, 2, 3"""


def _plan_items(scope) -> str:
    return f"""
        SELECT {PLAN_DUE} AS month, p.commune_id, i.area,
               COUNT(*) AS due, COUNT(*) FILTER (WHERE i.status = 'done') AS done
        FROM programme_planitem i JOIN programme_plan p ON p.id = i.plan_id
        {scope(PLAN_DUE, "p.commune_id")}
        GROUP BY 1, 2, 3"""


SPECS = {
    "contribution": Spec(
        "contribution",
        "reports_contributionrollup",
        ("agency_id", "enterprise_id", "category_id", "area", "form", "status"),
        ("total_value", "count"),
        _contributions,
    ),
    "visit": Spec("visit", "reports_visitrollup", ("agency_id", "kind"), ("count",), _visits),
    "difficulty": Spec(
        "difficulty", "reports_difficultyrollup", ("area",), ("raised", "resolved"), _difficulties
    ),
    "plan_item": Spec(
        "plan_item", "reports_planitemrollup", ("area",), ("due", "done"), _plan_items
    ),
}


def _cells_scope(day_sql: str, commune_sql: str) -> str:
    return (
        f"JOIN cells ON cells.commune_id = {commune_sql} "
        f"AND {day_sql} BETWEEN cells.first_day AND cells.last_day"
    )


def _columns(spec: Spec) -> str:
    return ", ".join(("month", "commune_id", *spec.keys, *spec.values))


def refresh_cells(spec: Spec, cells: Iterable[tuple[int, date]]) -> None:
    """Make the rows of these (commune, reporting month) cells equal to the raw records."""
    cells = sorted(set(cells))
    if not cells:
        return
    decree = uses_decree_09()
    firsts, lasts = [], []
    for _commune, month in cells:
        first, last = Period("month", month.year, month.month).days(decree_09=decree)
        firsts.append(first)
        lasts.append(last)
    key = ", ".join(("month", "commune_id", *spec.keys))
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in spec.values)
    sql = f"""
        WITH cells AS (
            SELECT * FROM unnest(%s::bigint[], %s::date[], %s::date[], %s::date[])
                AS t(commune_id, month, first_day, last_day)
        ),
        agg AS ({spec.select(_cells_scope)}),
        up AS (
            INSERT INTO {spec.table} ({_columns(spec)})
            SELECT {_columns(spec)} FROM agg
            ON CONFLICT ({key}) DO UPDATE SET {updates}
            RETURNING id
        )
        DELETE FROM {spec.table} r USING cells
        WHERE r.commune_id = cells.commune_id AND r.month = cells.month
          AND r.id NOT IN (SELECT id FROM up)"""
    params = [[c for c, _m in cells], [m for _c, m in cells], firsts, lasts]
    with connection.cursor() as cursor:
        # One writer per cell at a time; taken in a fixed order, so no deadlock.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s || ':' || c || ':' || m, 0)) "
            "FROM unnest(%s::bigint[], %s::date[]) AS t(c, m) ORDER BY c, m",
            [spec.kind, params[0], params[1]],
        )
        cursor.execute(sql, params)


def refresh_open_difficulties(commune_ids: Iterable[int]) -> list[int]:
    """Make the open difficulties of these communes equal to the raw records.

    Returns the communes whose stored figures were wrong (a missing row of a commune with
    nothing open is not counted).
    """
    ids = sorted(set(commune_ids))
    if not ids:
        return []
    with connection.cursor() as cursor:
        # One writer per commune at a time, taken before the statement's snapshot: a refresh
        # computed from an older snapshot must not overwrite a newer one (an upsert waiting on a
        # row lock keeps the values it computed before waiting).
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('open_difficulties:' || c, 0)) "
            "FROM unnest(%s::bigint[]) AS t(c) ORDER BY c",
            [ids],
        )
        cursor.execute(
            f"""
            WITH fresh AS (
                SELECT c.commune_id, COUNT(d.id) AS open_count,
                       percentile_disc(0.5) WITHIN GROUP (ORDER BY d.raised_on)
                           AS median_raised_on
                FROM unnest(%s::bigint[]) AS c(commune_id)
                LEFT JOIN programme_difficulty d
                  ON d.commune_id = c.commune_id AND d.status NOT IN {CLOSED_DIFFICULTY}
                GROUP BY c.commune_id
            ),
            changed AS (
                SELECT fresh.*, stored.commune_id IS NULL AS was_missing
                FROM fresh LEFT JOIN reports_opendifficulties stored USING (commune_id)
                WHERE stored.commune_id IS NULL
                   OR (stored.open_count, stored.median_raised_on)
                      IS DISTINCT FROM (fresh.open_count, fresh.median_raised_on)
            ),
            up AS (
                INSERT INTO reports_opendifficulties (commune_id, open_count, median_raised_on)
                SELECT commune_id, open_count, median_raised_on FROM changed
                ON CONFLICT (commune_id) DO UPDATE
                  SET open_count = EXCLUDED.open_count,
                      median_raised_on = EXCLUDED.median_raised_on
            )
            SELECT commune_id FROM changed
            WHERE NOT (was_missing AND open_count = 0) ORDER BY commune_id
            """,
            [ids],
        )
        return [row[0] for row in cursor.fetchall()]


def outbox_drain(
    *, batch: int = 1000, on_batch: Callable[[int, dict[str, int]], None] | None = None
) -> int:
    """Refresh every cell waiting in the outbox; returns how many outbox rows were handled.

    Rows are claimed with FOR UPDATE SKIP LOCKED and deleted in the transaction that refreshes
    their cells: a crash leaves them for the next run, and two workers never take the same row.
    `on_batch(outbox rows, cells per kind)` runs last in each batch's transaction (the audit row
    of reports.audit commits or rolls back with the batch).
    """
    handled = 0
    decree = uses_decree_09()
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                DELETE FROM programme_rollupoutbox WHERE id IN (
                    SELECT id FROM programme_rollupoutbox ORDER BY id
                    LIMIT %s FOR UPDATE SKIP LOCKED)
                RETURNING kind, commune_id, day""",
                [batch],
            )
            rows = cursor.fetchall()
            if not rows:
                return handled
            cells: dict[str, set[tuple[int, date]]] = defaultdict(set)
            for kind, commune_id, day in rows:
                cells[kind].add((commune_id, reporting_month(day, decree_09=decree)))
            for kind, kind_cells in sorted(cells.items()):
                refresh_cells(SPECS[kind], kind_cells)
            if "difficulty" in cells:
                refresh_open_difficulties(c for c, _m in cells["difficulty"])
            if on_batch:
                on_batch(len(rows), {kind: len(found) for kind, found in cells.items()})
        handled += len(rows)


def _year_scope(first: date, last: date):
    def scope(day_sql: str, commune_sql: str) -> str:
        return f"WHERE {day_sql} BETWEEN '{first.isoformat()}' AND '{last.isoformat()}'"

    return scope


def _months_of(year: int | None) -> tuple[date, date, date, date]:
    """Reporting months and the days they cover, for a year or for everything."""
    if year is None:
        return date(1900, 1, 1), date(2999, 12, 1), date(1899, 12, 1), date(2999, 12, 31)
    period = Period("year", year)
    first, last = period.days()
    return period.first_month, period.last_month, first, last


def rollups_rebuild(
    *, year: int | None = None, progress: Callable[[str], None] | None = None
) -> bool:
    """Recompute the rollups of a year (or of everything) from the raw records.

    Two runs of the same rebuild never both write (two beats, a double click, a task redelivered
    while the session of its killed worker still runs): the second waits for the first (an
    advisory lock), then writes only if the tables still differ from the raw records (the first
    one died, or records changed meanwhile). Returns False when it wrote nothing for that reason.
    """
    first_month, last_month, first_day, last_day = _months_of(year)
    scope = _year_scope(first_day, last_day)
    with transaction.atomic(), connection.cursor() as cursor:
        key = [f"rollups_rebuild:{year or 'all'}"]
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", key)
        if not cursor.fetchone()[0]:
            logger.info("rollups rebuild of %s waits for the same rebuild", year or "all")
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", key)
            if not any(rollups_drift(spec, year=year) for spec in SPECS.values()):
                logger.info("rollups rebuild of %s skipped: the other run did it", year or "all")
                return False
        cursor.execute("SET LOCAL reports.summaries_by_caller = 'on'")
        if year is None:
            _rebuild_everything(cursor, progress)
        else:
            _rebuild_months(cursor, scope, first_month, last_month, progress)
        summaries_recompute(cursor, first_month, last_month)
    if year is not None:
        # Outside the rebuild's transaction and in chunks: one advisory lock per commune, for
        # 10.000 communes at once, would exceed PostgreSQL's lock table.
        refresh_all_open_difficulties()
    # Fresh statistics: after a rebuild of millions of rows PostgreSQL would otherwise plan the
    # dashboard's queries from the old, tiny tables (sorts spilled to disk at national scale).
    with connection.cursor() as cursor:
        tables = [spec.table for spec in SPECS.values()] + ["reports_opendifficulties"]
        cursor.execute(f"ANALYZE {', '.join([*tables, *SUMMARIES])}")
    return True


def _rebuild_months(cursor, scope, first_month: date, last_month: date, progress) -> None:
    """Replace the rows of the months of a year, the tables staying readable meanwhile."""
    # All tables at once, in the order a drain writes them (by kind): locking them one by one
    # while a drain holds a later one would deadlock.
    tables = ", ".join(SPECS[kind].table for kind in sorted(SPECS))
    cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
    for spec in SPECS.values():
        cursor.execute(
            f"DELETE FROM {spec.table} WHERE month BETWEEN %s AND %s",
            [first_month, last_month],
        )
        cursor.execute(
            f"INSERT INTO {spec.table} ({_columns(spec)}) "
            f"SELECT {_columns(spec)} FROM ({spec.select(scope)}) AS fresh "
            f"WHERE month BETWEEN %s AND %s",
            [first_month, last_month],
        )
        if progress:
            progress(spec.kind)


# Memory for the index builds of a whole rebuild (per transaction; the default 64 MB makes the
# sorts of millions of rows spill to disk).
REBUILD_MAINTENANCE_WORK_MEM = "512MB"
# Memory for its GROUP BYs (the default 4 MB makes them spill millions of groups to disk).
REBUILD_WORK_MEM = "256MB"


def _rebuild_everything(cursor, progress) -> None:
    """Every table written anew, the way PostgreSQL loads a table fastest: emptied (TRUNCATE),
    filled without its secondary indexes, which are then built once from sorted rows instead of
    being updated row by row (about four times faster at national scale).

    TRUNCATE locks the tables against readers too until the commit: pages that need the rollups
    wait for the rebuild (the dashboard keeps showing its last figures meanwhile,
    reports.figures_cache). The open difficulties (a row for every commune, as
    `refresh_all_open_difficulties` leaves them) are recomputed in the same transaction, in one
    statement, under the table's lock instead of one advisory lock per commune.
    """
    tables = [SPECS[kind].table for kind in sorted(SPECS)] + ["reports_opendifficulties"]
    cursor.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
    cursor.execute(f"TRUNCATE {', '.join(tables)}")
    cursor.execute(f"SET LOCAL maintenance_work_mem = '{REBUILD_MAINTENANCE_WORK_MEM}'")
    cursor.execute(f"SET LOCAL work_mem = '{REBUILD_WORK_MEM}'")
    for spec in SPECS.values():
        indexes = _secondary_indexes(cursor, spec.table)
        for drop, _create in indexes:
            cursor.execute(drop)
        cursor.execute(
            f"INSERT INTO {spec.table} ({_columns(spec)}) "
            f"SELECT {_columns(spec)} FROM ({spec.select(lambda day, commune: '')}) AS fresh "
            "WHERE month IS NOT NULL"  # a resolved difficulty without its day counts nowhere
        )
        for _drop, create in indexes:
            cursor.execute(create)
        if progress:
            progress(spec.kind)
    cursor.execute(
        f"""
        INSERT INTO reports_opendifficulties (commune_id, open_count, median_raised_on)
        SELECT u.id, COUNT(d.id), percentile_disc(0.5) WITHIN GROUP (ORDER BY d.raised_on)
        FROM communes_adminunit u
        LEFT JOIN programme_difficulty d
          ON d.commune_id = u.id AND d.status NOT IN {CLOSED_DIFFICULTY}
        WHERE u.level = %s
        GROUP BY u.id
        """,
        [AdminUnit.Level.COMMUNE],
    )


def _secondary_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """(drop, create) statements of every index of `table` but its primary key: unique
    constraints as constraints, plain indexes as indexes, each with its own name and definition
    (the names the migrations know)."""
    cursor.execute(
        """
        SELECT c.conname, pg_get_constraintdef(c.oid), NULL
        FROM pg_constraint c WHERE c.conrelid = %s::regclass AND c.contype = 'u'
        UNION ALL
        SELECT i.relname, NULL, pg_get_indexdef(i.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY 1
        """,
        [table, table],
    )
    statements = []
    for name, constraint, index in cursor.fetchall():
        if constraint is not None:
            statements.append(
                (
                    f'ALTER TABLE {table} DROP CONSTRAINT "{name}"',
                    f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {constraint}',
                )
            )
        else:
            statements.append((f'DROP INDEX "{name}"', index))
    return statements


LOCKS_PER_TRANSACTION = 500


def refresh_all_open_difficulties() -> list[int]:
    """`refresh_open_difficulties` for every commune, a few hundred per transaction."""
    ids = list(
        AdminUnit.objects.filter(level=AdminUnit.Level.COMMUNE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    changed = []
    for start in range(0, len(ids), LOCKS_PER_TRANSACTION):
        with transaction.atomic():
            changed += refresh_open_difficulties(ids[start : start + LOCKS_PER_TRANSACTION])
    return changed


def rollups_drift(spec: Spec, *, year: int | None) -> list[tuple[int, date]]:
    """The (commune, month) cells of a year (None: all) where the table differs from the raw
    records."""
    first_month, last_month, first_day, last_day = _months_of(year)
    columns = _columns(spec)
    fresh = f"SELECT {columns} FROM ({spec.select(_year_scope(first_day, last_day))}) AS f"
    stored = f"SELECT {columns} FROM {spec.table}"
    within = "WHERE month BETWEEN %s AND %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT DISTINCT commune_id, month FROM (
                ({fresh} {within} EXCEPT {stored} {within})
                UNION ALL
                ({stored} {within} EXCEPT {fresh} {within})
            ) AS drift""",
            [first_month, last_month] * 4,
        )
        return [(row[0], row[1]) for row in cursor.fetchall()]


def rollups_reconcile(*, years: Iterable[int]) -> dict[str, int]:
    """Repair every cell that drifted from the raw sums; log what was repaired."""
    repaired: dict[str, int] = {}
    for year in years:
        for spec in SPECS.values():
            with transaction.atomic():
                drift = rollups_drift(spec, year=year)
                if drift:
                    logger.warning(
                        "rollup drift repaired: %s %s, %d cells, e.g. %s",
                        spec.kind,
                        year,
                        len(drift),
                        drift[:5],
                    )
                repaired[f"{spec.kind}:{year}"] = len(drift)
            # A few hundred cells per transaction: each cell takes an advisory lock.
            for start in range(0, len(drift), LOCKS_PER_TRANSACTION):
                with transaction.atomic():
                    refresh_cells(spec, drift[start : start + LOCKS_PER_TRANSACTION])
    changed = refresh_all_open_difficulties()
    if changed:
        logger.warning(
            "rollup drift repaired: open difficulties, %d communes, e.g. %s",
            len(changed),
            changed[:5],
        )
    repaired["open_difficulties"] = len(changed)
    repaired["summaries"] = sum(summaries_repair().values())
    return repaired


# --- National summaries of the contribution rollup (kept by triggers, migrations 0007–0008) ----

SUMMARIES_LOCK = "reports:support_summaries"  # the advisory lock the triggers take too

SUMMARIES = {
    "reports_supportbymonth": (
        ("month", "area", "form", "status", "total_value", "count"),
        "SELECT month, area, form, status, SUM(total_value), SUM(count) "
        "FROM reports_contributionrollup WHERE {within} GROUP BY 1, 2, 3, 4",
    ),
    "reports_deliveredbycommuneyear": (
        ("year", "commune_id", "total_value", "count"),
        "SELECT EXTRACT(YEAR FROM month)::int, commune_id, SUM(total_value), SUM(count) "
        "FROM reports_contributionrollup WHERE status = 'delivered' AND {within} GROUP BY 1, 2",
    ),
}


def summaries_drift() -> dict[str, int]:
    """Rows of each summary table that differ from the sums of the contribution rollup."""
    drift = {}
    with connection.cursor() as cursor:
        for table, (columns, fresh) in SUMMARIES.items():
            fresh = fresh.format(within="TRUE")
            stored = f"SELECT {', '.join(columns)} FROM {table}"
            cursor.execute(
                f"SELECT COUNT(*) FROM (({fresh} EXCEPT {stored}) "
                f"UNION ALL ({stored} EXCEPT {fresh})) AS drift"
            )
            drift[table] = cursor.fetchone()[0]
    return drift


def summaries_recompute(cursor, first_month: date, last_month: date) -> None:
    """Sum the summary rows of these months (whole years) again from the rollup, inside the
    caller's transaction (a rebuild turns the triggers off for its own: its millions of rows
    cost less summed once than statement by statement)."""
    # The triggers' lock: no drain sums between the DELETE and the INSERT.
    cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [SUMMARIES_LOCK])
    for table, (columns, fresh) in SUMMARIES.items():
        if "year" in columns:
            cursor.execute(
                f"DELETE FROM {table} WHERE year BETWEEN %s AND %s",
                [first_month.year, last_month.year],
            )
        else:
            cursor.execute(
                f"DELETE FROM {table} WHERE month BETWEEN %s AND %s", [first_month, last_month]
            )
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            + fresh.format(within="month BETWEEN %s AND %s"),
            [first_month, last_month],
        )


def summaries_repair() -> dict[str, int]:
    """Write the summary tables anew from the contribution rollup where they drifted (only a
    disabled trigger or a hand edit can make them); returns the drift found."""
    drift = summaries_drift()
    if any(drift.values()):
        first, last, _first_day, _last_day = _months_of(None)
        with transaction.atomic(), connection.cursor() as cursor:
            summaries_recompute(cursor, first, last)
        logger.warning("rollup summaries repaired: %s", drift)
    return drift
