from celery import shared_task


@shared_task(name="programme.ping")
def ping() -> str:
    """Answers "pong": lets health checks and tests see that a worker is consuming."""
    return "pong"


# Tasks of the spreadsheet import live with it; importing them here registers them.
from programme.imports import tasks as _import_tasks  # noqa: E402, F401
