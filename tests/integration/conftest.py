import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]


def worker_database_url() -> str:
    """DATABASE_URL with the test database's name.

    pytest-django renames the database in this process only (test_<name>); a worker process
    started from the environment would write to the development database instead.
    """
    from django.db import connection

    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))


def subprocess_env(**overrides: str) -> dict[str, str]:
    """The environment of a child process of this run: test settings, the test database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "programme.settings_test",
        "DATABASE_URL": worker_database_url(),
        **overrides,
    }


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup):
    """A real `celery worker` process on the real Redis broker of this run, using the test
    database (it is started after the test database exists and stopped before it goes)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "programme",
            "worker",
            "-l",
            "warning",
            "-c",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=BASE_DIR,
        env=subprocess_env(),
    )
    time.sleep(0.5)
    if proc.poll() is not None:
        pytest.fail("The Celery worker did not start.")
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
