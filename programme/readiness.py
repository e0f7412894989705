"""Checks run before a Celery worker or beat starts.

During a deploy the new code may start before `migrate` has run (or against a new, empty
database). A worker would then fail task after task on missing tables and columns, and beat's
database scheduler would crash on its own tables. Both refuse to start instead, with a message
that says what to do.
"""

import logging

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger(__name__)


class DatabaseNotMigrated(SystemExit):
    """Raised from a start-up signal: SystemExit passes through Celery's signal dispatch."""


def unapplied_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The migrations of this code that the database has not applied, as "app.name"."""
    connection = connections[alias]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def refuse_unmigrated(process: str) -> None:
    """Stop `process` (worker, beat) when the database lacks migrations of this code.

    An unreachable database is only logged: it may be restarting, and tasks retry.
    """
    try:
        missing = unapplied_migrations()
    except OperationalError as error:
        logger.warning(
            "%s: could not check the migrations (database unreachable): %s", process, error
        )
        return
    finally:
        connections.close_all()  # forked pool processes must not share this connection
    if missing:
        message = (
            f"The Celery {process} refuses to start: the database is not migrated "
            f"({len(missing)} migration(s) not applied, e.g. {', '.join(missing[:3])}). "
            "Run `python manage.py migrate` first, then start the worker and beat "
            "(README: Deploying a new version)."
        )
        logger.critical(message)
        raise DatabaseNotMigrated(message)
