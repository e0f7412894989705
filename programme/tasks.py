from celery import shared_task


@shared_task(name="programme.ping")
def ping() -> str:
    """Answers "pong": lets health checks and tests see that a worker is consuming."""
    return "pong"
