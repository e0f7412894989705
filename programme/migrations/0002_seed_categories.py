"""Seed the support taxonomy. Administrators may rename, reorder or retire categories later."""

from django.db import migrations

from programme.categories import CATEGORIES, categories_seed


def seed(apps, schema_editor):
    categories_seed(apps.get_model("programme", "ContributionCategory"))


def unseed(apps, schema_editor):
    Category = apps.get_model("programme", "ContributionCategory")
    Category.objects.filter(code__in=[row[0] for row in CATEGORIES], contributions=None).delete()


class Migration(migrations.Migration):
    dependencies = [("programme", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
