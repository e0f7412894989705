"""The real processes a benchmark drives: gunicorn, a Celery worker, locust, child processes."""

import contextlib
import csv
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def child_env(**overrides: str) -> dict[str, str]:
    """The environment of a child process: bench settings and this process's database."""
    from django.db import connection

    settings = connection.settings_dict
    url = os.environ.get("DATABASE_URL", "")
    if url:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(url)
        url = urlunsplit(parts._replace(path="/" + settings["NAME"]))
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": url,
        "PYTHONPATH": str(BASE_DIR),
        **overrides,
    }


CPU_GROUPS = ("web (gunicorn)", "Celery worker", "PostgreSQL", "Redis", "load generator (locust)")


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far by each group of processes on this machine.

    Ended processes count too: a PostgreSQL backend's time is added to its postmaster's children
    when it exits, and locust's to this process's once `locust()` has waited for it. The
    difference of two calls is what each group used in between.
    """
    totals = dict.fromkeys(CPU_GROUPS, 0.0)
    for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        times = proc.info["cpu_times"]
        if times is None:
            continue
        command = " ".join(proc.info["cmdline"] or [])
        name = proc.info["name"] or ""
        own = times.user + times.system
        reaped = times.children_user + times.children_system
        if proc.pid == os.getpid():
            group, seconds = "load generator (locust)", reaped
        elif "gunicorn" in command:
            group, seconds = "web (gunicorn)", own
        elif "celery" in command and "worker" in command:
            group, seconds = "Celery worker", own
        elif name.startswith("postgres") or command.startswith("postgres"):
            group, seconds = "PostgreSQL", own + reaped
        elif name.startswith("redis-server"):
            group, seconds = "Redis", own
        else:
            continue
        totals[group] += seconds
    return totals


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tree_rss_mib(pid: int) -> dict[str, float]:
    """Resident memory of a process and of each of its children, in MiB."""
    result = {}
    with contextlib.suppress(psutil.Error):
        parent = psutil.Process(pid)
        result["parent"] = parent.memory_info().rss / 2**20
        for n, child in enumerate(parent.children(recursive=True), 1):
            with contextlib.suppress(psutil.Error):
                result[f"child {n}"] = child.memory_info().rss / 2**20
    return result


@contextlib.contextmanager
def gunicorn(*, workers: int = 2, threads: int = 4, log: Path):
    """gunicorn serving the project on a free port; yields (base URL, process)."""
    port = free_port()
    handle = open(log, "ab")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "programme.wsgi",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            # Idle keep-alive connections outlive a simulated user's longest pause (15 s to fill
            # a form in): otherwise the server closes one just as the client reuses it, and the
            # reset counts as an error.
            "--keep-alive",
            "30",
            # Each request with its time in the server (ms) and the process that served it: the
            # client's times also hold the waits outside the server (a full garbage collection).
            "--access-logfile",
            str(log.with_suffix(".access.log")),
            "--access-logformat",
            "%(t)s %(M)s %(p)s %(m)s %(U)s%(q)s %(s)s",
        ],
        cwd=BASE_DIR,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=handle,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=5).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start (see {log})") from None
                time.sleep(0.2)
        yield base, proc
    finally:
        stop(proc)
        handle.close()


@contextlib.contextmanager
def celery_worker(*, log: Path, concurrency: int = 1):
    """A real Celery worker on the configured broker, logging each task's own run time."""
    handle = open(log, "ab")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "programme",
            "worker",
            "-l",
            "info",
            "-c",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=BASE_DIR,
        env=child_env(),
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while b"ready." not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start (see {log})")
            time.sleep(0.2)
        yield proc
    finally:
        stop(proc)
        handle.close()


class Services:
    """The Celery worker, started on first use and kept for the whole run (each start costs
    seconds that a short run cannot spare), and web servers."""

    def __init__(self, stack: contextlib.ExitStack, folder: Path):
        self.stack = stack
        self.folder = folder
        self.worker_log = folder / "worker.log"
        self._worker = None

    def worker(self) -> subprocess.Popen:
        if self._worker is None:
            self.worker_log.unlink(missing_ok=True)
            self._worker = self.stack.enter_context(celery_worker(log=self.worker_log))
        return self._worker

    def web(self, name: str) -> contextlib.AbstractContextManager:
        """A fresh web server for each step: requests a timed-out client left queued must not
        slow the next step down."""
        return gunicorn(log=self.folder / f"gunicorn-{name}.log")


def warm_up(
    base: str,
    *,
    username: str,
    password: str,
    urls: list[str],
    rounds: int = 4,
    parallel: int = 8,
) -> None:
    """Request every page a few times so that each gunicorn worker has loaded its code and
    templates, opened its database connection and computed the figures it keeps (the dashboard's,
    reports.figures_cache: one computation per worker process) before anything is timed. Each
    page is asked `parallel` times at once, each time on a new connection, so that every worker
    process gets some (one after the other, they tend to go to the same process)."""
    import re
    from concurrent.futures import ThreadPoolExecutor

    import requests

    session = requests.Session()
    page = session.get(base + "/accounts/login/", timeout=120)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    session.post(
        base + "/accounts/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": token.group(1) if token else "",
        },
        timeout=120,
    )
    cookies = session.cookies.get_dict()

    def fetch(url: str) -> None:
        requests.get(base + url, cookies=cookies, timeout=300, headers={"Connection": "close"})

    with ThreadPoolExecutor(parallel) as pool:
        for _ in range(rounds):
            for url in urls:
                list(pool.map(fetch, [url] * parallel))


def locust(
    locustfile: str,
    *,
    host: str,
    users: int,
    seconds: int,
    folder: Path,
    name: str,
    env: dict[str, str] | None = None,
) -> dict[str, dict]:
    """Run locust headless; returns its per-request statistics by name ("Aggregated" too)."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / name
    spawn = max(1, min(users, 10))
    with open(folder / f"{name}.log", "wb") as handle:
        subprocess.run(
            [
                str(BIN / "locust"),
                "-f",
                str(BASE_DIR / "bench" / locustfile),
                "--headless",
                "--host",
                host,
                "-u",
                str(users),
                "-r",
                str(spawn),
                "-t",
                f"{seconds}s",
                "--csv",
                str(prefix),
                "--only-summary",
                "--exit-code-on-error",
                "0",
            ],
            cwd=BASE_DIR,
            env={**child_env(), **(env or {})},
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=seconds + 180,
        )
    stats = {}
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            stats[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50": _number(row["50%"]),
                "p95": _number(row["95%"]),
                "rps": _number(row["Requests/s"]) or 0.0,
            }
    return stats


def _number(text: str) -> float | None:
    """A figure of locust's CSV; "N/A" (no request finished) is None."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def child(args: list[str], *, sample_every: float = 0.05) -> dict:
    """Run `python -m bench.child ARGS`; returns its JSON answer, with its peak memory.

    The child reports its own peak resident memory (VmHWM); the parent also samples its
    RSS with psutil, as a cross-check that nothing escaped into a grandchild.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.child", *args],
        cwd=BASE_DIR,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    sampled = 0.0
    watched = psutil.Process(proc.pid)
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            rss = watched.memory_info().rss
            for grandchild in watched.children(recursive=True):
                rss += grandchild.memory_info().rss
            sampled = max(sampled, rss / 2**20)
        time.sleep(sample_every)
    out, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"bench.child {args} failed:\n{err.decode()[-3000:]}")
    answer = json.loads(out.decode().strip().splitlines()[-1])
    answer["sampled_peak_mib"] = round(sampled, 1)
    return answer
