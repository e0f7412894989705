"""A change log written by statement-level triggers, for the figures cache (reports.figures_cache).

Every INSERT, UPDATE, DELETE or TRUNCATE statement on a table the dashboard or the completeness
page reads adds one row to reports_datachange. The rows become visible when the writing
transaction commits, so a cached page keyed on (count, max id) is never served after a change
it did not see.
"""

from django.db import migrations, models

WATCHED = [
    "reports_contributionrollup",
    "reports_visitrollup",
    "reports_difficultyrollup",
    "reports_opendifficulties",
    "reports_planitemrollup",
    "communes_adminunit",
    "communes_designation",
    "communes_programme",
    "communes_succession",
    "communes_ntmrecognition",
    "partners_agency",
    "partners_assignment",
    "programme_visit",
]

FUNCTION = """
CREATE OR REPLACE FUNCTION reports_note_data_change() RETURNS trigger AS $$
BEGIN
    INSERT INTO reports_datachange DEFAULT VALUES;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

TRIGGER = """
CREATE TRIGGER {table}_data_change
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION reports_note_data_change();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_exportjob_heartbeat"),
        ("communes", "0001_initial"),
        ("partners", "0001_initial"),
        ("programme", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="DataChange",
            fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
            options={"verbose_name": "data change", "verbose_name_plural": "data changes"},
        ),
        migrations.RunSQL(FUNCTION, "DROP FUNCTION IF EXISTS reports_note_data_change();"),
        *(
            migrations.RunSQL(
                TRIGGER.format(table=table),
                f"DROP TRIGGER IF EXISTS {table}_data_change ON {table};",
            )
            for table in WATCHED
        ),
    ]
