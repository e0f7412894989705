import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def celery_worker_process():
    """A real `celery worker` process on the real Redis broker of this run."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "programme.settings_test"}
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
        env=env,
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
