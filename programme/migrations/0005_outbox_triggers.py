"""Triggers that write the rollup cells a write touches into programme_rollupoutbox.

Each trigger inserts (kind, commune, day) for the old row and for the new row, so an edit that
moves a record to another period or commune refreshes both cells. A plan moved to another
commune or year queues the old and new cells of all its items. The worker maps days to
reporting periods with the calendar in force, so changing the calendar needs no new trigger.
"""

from django.db import migrations

OUTBOX = "INSERT INTO programme_rollupoutbox (kind, commune_id, day, created_at) VALUES"


def _simple(table: str, kind: str, day_columns: list[str]) -> str:
    """A trigger for a table that has commune_id and one or more date columns."""

    def block(row: str) -> str:
        return "\n".join(
            f"    IF {row}.{column} IS NOT NULL THEN {OUTBOX} ('{kind}', {row}.commune_id, {row}.{column}, now()); END IF;"
            for column in day_columns
        )

    return f"""
CREATE OR REPLACE FUNCTION {table}_outbox() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
{block("NEW")}
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
{block("OLD")}
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS {table}_outbox ON {table};
CREATE TRIGGER {table}_outbox AFTER INSERT OR UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION {table}_outbox();
"""


# A plan item is due on the first day of its month, of the last month of its quarter, or of
# December; its commune is its plan's.
PLAN_ITEM = f"""
CREATE OR REPLACE FUNCTION programme_planitem_due(plan_id bigint, kind text, number smallint)
RETURNS TABLE (commune_id bigint, day date) AS $$
  SELECT p.commune_id,
         make_date(p.year, CASE kind WHEN 'month' THEN number WHEN 'quarter' THEN number * 3
                                     ELSE 12 END, 1)
  FROM programme_plan p WHERE p.id = plan_id
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION programme_planitem_outbox() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {OUTBOX.replace(" VALUES", "")}
      SELECT 'plan_item', d.commune_id, d.day, now()
      FROM programme_planitem_due(NEW.plan_id, NEW.period_kind, NEW.period_number) d;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {OUTBOX.replace(" VALUES", "")}
      SELECT 'plan_item', d.commune_id, d.day, now()
      FROM programme_planitem_due(OLD.plan_id, OLD.period_kind, OLD.period_number) d;
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS programme_planitem_outbox ON programme_planitem;
CREATE TRIGGER programme_planitem_outbox AFTER INSERT OR UPDATE OR DELETE ON programme_planitem
FOR EACH ROW EXECUTE FUNCTION programme_planitem_outbox();
"""

# A plan moved to another commune or year moves all its items: queue their old and new cells.
PLAN = f"""
CREATE OR REPLACE FUNCTION programme_plan_outbox() RETURNS trigger AS $$
BEGIN
  {OUTBOX.replace(" VALUES", "")}
    SELECT DISTINCT 'plan_item', moved.commune_id,
           make_date(moved.year, CASE i.period_kind WHEN 'month' THEN i.period_number
                                   WHEN 'quarter' THEN i.period_number * 3 ELSE 12 END, 1),
           now()
    FROM programme_planitem i,
         (VALUES (OLD.commune_id, OLD.year), (NEW.commune_id, NEW.year)) AS moved(commune_id, year)
    WHERE i.plan_id = NEW.id;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS programme_plan_outbox ON programme_plan;
CREATE TRIGGER programme_plan_outbox AFTER UPDATE ON programme_plan
FOR EACH ROW
WHEN (OLD.commune_id IS DISTINCT FROM NEW.commune_id OR OLD.year IS DISTINCT FROM NEW.year)
EXECUTE FUNCTION programme_plan_outbox();
"""

FORWARD = "\n".join(
    [
        _simple("programme_contribution", "contribution", ["date"]),
        _simple("programme_visit", "visit", ["date"]),
        _simple("programme_difficulty", "difficulty", ["raised_on", "resolved_on"]),
        PLAN_ITEM,
        PLAN,
    ]
)

BACKWARD = """
DROP TRIGGER IF EXISTS programme_contribution_outbox ON programme_contribution;
DROP TRIGGER IF EXISTS programme_visit_outbox ON programme_visit;
DROP TRIGGER IF EXISTS programme_difficulty_outbox ON programme_difficulty;
DROP TRIGGER IF EXISTS programme_planitem_outbox ON programme_planitem;
DROP TRIGGER IF EXISTS programme_plan_outbox ON programme_plan;
DROP FUNCTION IF EXISTS programme_contribution_outbox();
DROP FUNCTION IF EXISTS programme_visit_outbox();
DROP FUNCTION IF EXISTS programme_difficulty_outbox();
DROP FUNCTION IF EXISTS programme_planitem_outbox();
DROP FUNCTION IF EXISTS programme_plan_outbox();
DROP FUNCTION IF EXISTS programme_planitem_due(bigint, text, smallint);
"""


class Migration(migrations.Migration):
    dependencies = [("programme", "0004_rollup_outbox")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
