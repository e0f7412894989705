"""Trigram indexes for the lists' search: "contains" over millions of records reads the index.

pg_trgm ships with PostgreSQL's contrib package (a trusted extension the database owner may
create). Where it is not available — the embedded PostgreSQL of `make run` has no contrib — the
indexes are left out: the search works the same, reading the records instead of an index.
"""

import django.contrib.postgres.indexes
from django.db import migrations

INDEXES = [
    ("contribution_search_trgm", "programme_contribution"),
    ("difficulty_search_trgm", "programme_difficulty"),
    ("visit_search_trgm", "programme_visit"),
]


def create(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:
            return
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table in INDEXES:
            cursor.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
                "USING gin (search_text gin_trgm_ops)"
            )


def drop(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for name, _table in INDEXES:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')


def _index(name: str):
    return django.contrib.postgres.indexes.GinIndex(
        fields=["search_text"], name=name, opclasses=["gin_trgm_ops"]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("programme", "0008_import_checked_rows"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(create, drop)],
            state_operations=[
                migrations.AddIndex(model_name=name.split("_")[0], index=_index(name))
                for name, _table in INDEXES
            ],
        ),
    ]
