"""The national monthly summary takes each statement's change instead of summing its months
again from the rollup.

Summing a (month, area, form, status) row again read every rollup row of that kind in that
month, thousands of rows spread over the table at national scale: a drain of one saved
contribution took 35 ms (p50) and 257 ms (p95) inside the task instead of 13 ms. The change of a
statement is the sum of its new rows minus the sum of its old ones; each row is counted by one
trigger only (an updated row, its id among both the old and the new rows, by the UPDATE
trigger; a deleted one, its id gone from the table, by the DELETE trigger). The commune-and-year
summary keeps being summed again: its rows are read through the rollup's (commune, month) index,
a few rows each.

(0007 summed again because a first version with changes failed its tests. The cause was not a
row counted twice, as its comment says, but the CHECK constraint on the count: INSERT … ON
CONFLICT checks the proposed row, here a negative change, before it finds the conflicting row.
Changes are now added with UPDATE.)
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION reports_support_summaries() RETURNS trigger AS $$
DECLARE
    touched text;
    changes text;
BEGIN
    -- A rebuild writes millions of rows, then sums their whole months itself (cheaper).
    IF current_setting('reports.summaries_by_caller', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        -- Not TRUNCATE: a TRUNCATE of several tables (a test's flush) may name these too.
        DELETE FROM reports_supportbymonth;
        DELETE FROM reports_deliveredbycommuneyear;
        RETURN NULL;
    END IF;
    -- The rollup rows the statement changed, before and after, and their signed change.
    IF TG_OP = 'INSERT' THEN
        touched := 'SELECT month, commune_id, area, form, status FROM new_rows';
        changes := 'SELECT month, area, form, status, total_value, count FROM new_rows';
    ELSIF TG_OP = 'DELETE' THEN
        touched := 'SELECT month, commune_id, area, form, status FROM old_rows';
        changes := 'SELECT o.month, o.area, o.form, o.status, -o.total_value, -o.count '
                   'FROM old_rows o WHERE NOT EXISTS ('
                   'SELECT 1 FROM reports_contributionrollup r WHERE r.id = o.id)';
    ELSE
        touched := 'SELECT month, commune_id, area, form, status FROM new_rows UNION ALL '
                   'SELECT month, commune_id, area, form, status FROM old_rows';
        changes := 'SELECT n.month, n.area, n.form, n.status, n.total_value, n.count '
                   'FROM new_rows n WHERE n.id IN (SELECT id FROM old_rows) UNION ALL '
                   'SELECT o.month, o.area, o.form, o.status, -o.total_value, -o.count '
                   'FROM old_rows o WHERE o.id IN (SELECT id FROM new_rows)';
    END IF;
    -- Writers one at a time, each until its commit: no deadlock on the shared monthly rows,
    -- and each commune-and-year sum below includes the previous writer's committed rows.
    PERFORM pg_advisory_xact_lock(hashtextextended('reports:support_summaries', 0));
    -- Changes are added with UPDATE, and rows for new kinds inserted: an INSERT … ON CONFLICT
    -- checks the proposed row (a negative change) against the table's CHECK constraints before
    -- it looks for the conflicting row. No other writer runs meanwhile (the lock above).
    EXECUTE format($sql$
        WITH delta AS (
            SELECT month, area, form, status,
                   SUM(total_value) AS total_value, SUM(count) AS count
            FROM (%s) AS c (month, area, form, status, total_value, count)
            GROUP BY 1, 2, 3, 4
            HAVING SUM(total_value) <> 0 OR SUM(count) <> 0
        ),
        added AS (
            UPDATE reports_supportbymonth t
            SET total_value = t.total_value + d.total_value, count = t.count + d.count
            FROM delta d
            WHERE t.month = d.month AND t.area = d.area AND t.form = d.form
              AND t.status = d.status
            RETURNING t.month, t.area, t.form, t.status
        )
        INSERT INTO reports_supportbymonth (month, area, form, status, total_value, count)
        SELECT d.month, d.area, d.form, d.status, d.total_value, d.count FROM delta d
        WHERE NOT EXISTS (
            SELECT 1 FROM added a WHERE a.month = d.month AND a.area = d.area
               AND a.form = d.form AND a.status = d.status)
    $sql$, changes);
    -- Rows that now sum to nothing go (only the kinds this statement touched).
    EXECUTE format($sql$
        DELETE FROM reports_supportbymonth t
        USING (SELECT DISTINCT month, area, form, status FROM (%s) AS c) AS k
        WHERE t.count = 0 AND t.month = k.month AND t.area = k.area AND t.form = k.form
          AND t.status = k.status
    $sql$, touched);
    EXECUTE format($sql$
        WITH keys AS (
            SELECT DISTINCT EXTRACT(YEAR FROM month)::int AS year, commune_id
            FROM (%s) AS c WHERE status = 'delivered'
        ),
        fresh AS (
            SELECT k.year, k.commune_id,
                   SUM(r.total_value) AS total_value, SUM(r.count) AS count
            FROM keys k JOIN reports_contributionrollup r
              ON r.commune_id = k.commune_id AND r.status = 'delivered'
             AND r.month BETWEEN make_date(k.year, 1, 1) AND make_date(k.year, 12, 1)
            GROUP BY 1, 2
        ),
        gone AS (
            DELETE FROM reports_deliveredbycommuneyear t USING keys k
            WHERE t.year = k.year AND t.commune_id = k.commune_id
              AND NOT EXISTS (
                  SELECT 1 FROM fresh f WHERE f.year = t.year AND f.commune_id = t.commune_id)
        )
        INSERT INTO reports_deliveredbycommuneyear (year, commune_id, total_value, count)
        SELECT year, commune_id, total_value, count FROM fresh
        ON CONFLICT (year, commune_id) DO UPDATE
            SET total_value = EXCLUDED.total_value, count = EXCLUDED.count
    $sql$, touched);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


def _previous_function(apps, schema_editor):
    """Back to 0007's function (its own text)."""
    from importlib import import_module

    previous = import_module("reports.migrations.0007_support_summaries")
    schema_editor.execute(previous.FUNCTION)


class Migration(migrations.Migration):
    dependencies = [("reports", "0007_support_summaries")]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, _previous_function),
        migrations.RunSQL(FUNCTION, migrations.RunSQL.noop),
    ]
