"""Trigram indexes for the lists' search: "contains" over millions of records reads the index
(pg_trgm, shipped with PostgreSQL's contrib; a trusted extension that the database owner may
create)."""

import django.contrib.postgres.indexes
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("programme", "0008_import_checked_rows"),
    ]

    operations = [
        TrigramExtension(),
        migrations.AddIndex(
            model_name="contribution",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_text"], name="contribution_search_trgm", opclasses=["gin_trgm_ops"]
            ),
        ),
        migrations.AddIndex(
            model_name="difficulty",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_text"], name="difficulty_search_trgm", opclasses=["gin_trgm_ops"]
            ),
        ),
        migrations.AddIndex(
            model_name="visit",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_text"], name="visit_search_trgm", opclasses=["gin_trgm_ops"]
            ),
        ),
    ]
