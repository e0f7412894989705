"""Indexes on (date, id) for the record lists' default order, reached by seeking."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("programme", "0005_outbox_triggers")]

    operations = [
        migrations.AddIndex(
            model_name="visit",
            index=models.Index(fields=["date", "id"], name="visit_date_id_idx"),
        ),
        migrations.AddIndex(
            model_name="difficulty",
            index=models.Index(fields=["raised_on", "id"], name="difficulty_raised_id_idx"),
        ),
        migrations.AddIndex(
            model_name="contribution",
            index=models.Index(fields=["date", "id"], name="contribution_date_id_idx"),
        ),
    ]
