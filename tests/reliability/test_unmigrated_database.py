"""A worker or beat started against a database without the migrations refuses to start.

A deploy that starts the new worker before `migrate` (or points it at a new, empty database)
would otherwise fail task after task on missing tables. Real `celery worker` and `celery beat`
processes are started against an empty database (on a private PostgreSQL cluster).
"""

import subprocess
import sys

import pytest

from tests.reliability.conftest import BASE_DIR, subprocess_env


@pytest.mark.parametrize("kind", ["worker", "beat"])
def test_refuses_to_start_against_an_unmigrated_database(kind, empty_database, tmp_path):
    command = [sys.executable, "-m", "celery", "-A", "programme", kind, "-l", "info"]
    if kind == "worker":
        command += ["-c", "1", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    else:
        command += ["-s", str(tmp_path / "beat-schedule")]
    done = subprocess.run(
        command,
        cwd=BASE_DIR,
        env=subprocess_env(DATABASE_URL=empty_database),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]
    assert f"The Celery {kind} refuses to start: the database is not migrated" in output
    assert "Run `python manage.py migrate` first" in output
    assert "ready." not in output  # the worker never began consuming


def test_a_migrated_database_has_nothing_to_apply(db):
    from programme.readiness import unapplied_migrations

    assert unapplied_migrations() == []
