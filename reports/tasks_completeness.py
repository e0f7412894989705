"""Celery tasks of this report feature (imported by reports.tasks so that Celery finds them)."""
