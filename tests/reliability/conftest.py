"""Fault tests against real, private services.

Faults are never done to the machine's PostgreSQL or Redis: each test that stops a service
starts its own (a redis-server on a free port, a PostgreSQL cluster made with initdb in a
temporary directory). Workers and beats are real `celery` processes using the test database.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import closing, suppress
from decimal import Decimal
from glob import glob
from pathlib import Path

import psycopg
import pytest
import redis
from celery import Celery
from django.db import connection

from tests.integration.conftest import BASE_DIR, subprocess_env, worker_database_url

__all__ = ["BASE_DIR", "subprocess_env", "worker_database_url"]


def env_number(name: str, default: float) -> float:
    """A tuning knob of the slow variants (README: Faults survived)."""
    return float(os.environ.get(name, default))


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, *, seconds: float, step: float = 0.1):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


# --- Redis ----------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of this test only, on a free port, without persistence."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--maxmemory-policy", "noeviction", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        if not wait_for(lambda: self._ping(client), seconds=20):
            pytest.fail("The private redis-server did not start.")

    @staticmethod
    def _ping(client) -> bool:
        try:
            return client.ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.proc = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=2)


@pytest.fixture
def private_redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is needed (apt-get install redis-server).")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def celery_client(broker_url: str) -> Celery:
    """A Celery app of the test process that talks to `broker_url` (sends, reads results)."""
    # Not the current app: the project's app stays the one pages and other tests use.
    app = Celery("reliability-tests", broker=broker_url, backend=broker_url, set_as_current=False)
    app.conf.broker_connection_retry_on_startup = False
    return app


# --- Celery processes -----------------------------------------------------------------------


def start_celery(kind: str, *, env: dict[str, str], log: Path, args: tuple[str, ...] = ()):
    """A real `celery worker` or `celery beat` in its own process group (killable as a whole)."""
    command = [sys.executable, "-m", "celery", "-A", "programme", kind, "-l", "info"]
    if kind == "worker":
        command += ["-c", "1", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    handle = open(log, "ab")  # noqa: SIM115 (closed by stop_process)
    proc = subprocess.Popen(
        [*command, *args], cwd=BASE_DIR, env=env, stdout=handle, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    proc.log_handle = handle
    return proc


def stop_process(proc: subprocess.Popen, *, sig=signal.SIGTERM, timeout: float = 20) -> None:
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Pool children left behind (a SIGKILLed main process) go with the group.
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    handle = getattr(proc, "log_handle", None)
    if handle:
        handle.close()


def children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(part) for part in text.split()]


def worker_ready(log: Path) -> bool:
    return log.exists() and b"ready." in log.read_bytes()


# --- Rollups equal the raw sums -------------------------------------------------------------


def raw_and_rollup_totals() -> dict[str, tuple]:
    """Independent of reports.rollups: totals of the raw tables and of the rollup tables."""
    queries = {
        "contribution value": (
            "SELECT COALESCE(SUM(value), 0), COUNT(*) FROM programme_contribution",
            "SELECT COALESCE(SUM(total_value), 0), COALESCE(SUM(count), 0) "
            "FROM reports_contributionrollup",
        ),
        "visits": (
            "SELECT COUNT(*) FROM programme_visit",
            "SELECT COALESCE(SUM(count), 0) FROM reports_visitrollup",
        ),
        "difficulties raised": (
            "SELECT COUNT(*) FROM programme_difficulty",
            "SELECT COALESCE(SUM(raised), 0) FROM reports_difficultyrollup",
        ),
        "plan items due": (
            "SELECT COUNT(*) FROM programme_planitem",
            "SELECT COALESCE(SUM(due), 0) FROM reports_planitemrollup",
        ),
        "open difficulties": (
            "SELECT COUNT(*) FROM programme_difficulty "
            "WHERE status NOT IN ('resolved', 'confirmed', 'unresolvable')",
            "SELECT COALESCE(SUM(open_count), 0) FROM reports_opendifficulties",
        ),
    }
    totals = {}
    with connection.cursor() as cursor:
        for name, (raw, rolled) in queries.items():
            cursor.execute(raw)
            raw_row = tuple(Decimal(value) for value in cursor.fetchone())
            cursor.execute(rolled)
            totals[name] = (raw_row, tuple(Decimal(value) for value in cursor.fetchone()))
    return totals


def rollup_problems() -> list[str]:
    """Every way the rollups differ from the raw records (empty when exact)."""
    from reports import rollups

    problems = [
        f"{spec.kind}: {len(drift)} cells differ, e.g. {drift[:3]}"
        for spec in rollups.SPECS.values()
        if (drift := rollups.rollups_drift(spec, year=None))
    ]
    problems += [
        f"{table}: {count} rows differ from the contribution rollup"
        for table, count in rollups.summaries_drift().items()
        if count
    ]
    problems += [
        f"{name}: raw {raw} ≠ rollups {rolled}"
        for name, (raw, rolled) in raw_and_rollup_totals().items()
        if raw != rolled
    ]
    return problems


def test_database_dsn() -> str:
    """A libpq URL of this run's test database (for side connections holding locks)."""
    return worker_database_url()


test_database_dsn.__test__ = False  # not a test


# --- A private PostgreSQL cluster ------------------------------------------------------------


def postgres_bin_dir() -> Path:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    import pgserver

    return Path(pgserver.__file__).parent / "pginstall" / "bin"


class PrivatePostgres:
    """A PostgreSQL cluster of this test only (initdb in a temporary directory, trust auth).

    PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user.
    """

    def __init__(self):
        self.bin = postgres_bin_dir()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="reliability-pg-"))
        self.data = self.dir / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres")
        self.dir.chmod(0o755)

    def _run(self, *args: str, check: bool = True, timeout: float = 120):
        return subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, check=check,
            timeout=timeout, cwd=self.dir,
        )  # fmt: skip

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip
        conf = self.data / "postgresql.conf"
        with conf.open("a") as handle:
            handle.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.dir}'\nfsync = off\n"
                "synchronous_commit = off\nfull_page_writes = off\n"
            )

    def start(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
                  "-w", "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop",
                  check=False)  # fmt: skip

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            conn.execute(sql)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    server.init()
    server.start()
    yield server
    server.remove()


@pytest.fixture(scope="session")
def scratch_postgres():
    """A private cluster for scratch databases: creating and dropping them there never waits
    for the checkpoints of a busy shared server."""
    server = PrivatePostgres()
    server.init()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def empty_database(scratch_postgres):
    """The URL of a new, empty database (on the private scratch cluster)."""
    name = f"empty_{uuid.uuid4().hex[:8]}"
    scratch_postgres.execute(f'CREATE DATABASE "{name}"')
    yield scratch_postgres.url(name)
    scratch_postgres.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
