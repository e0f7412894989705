"""BENCHMARKS.md: the machine, the data, and one table of every figure of the run."""

import os
import platform
import re
from datetime import datetime
from pathlib import Path

from django.db import connection

from bench.measure import Results

LOAD_START, LOAD_END = "<!-- load:start -->", "<!-- load:end -->"


def _markers(pace: str) -> tuple[str, str]:
    """Each pace has its own section: a `bench load --pace stress` keeps the human one."""
    if pace == "human":
        return LOAD_START, LOAD_END
    return f"<!-- load-{pace}:start -->", f"<!-- load-{pace}:end -->"


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem_kib = int(line.split()[1])
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": f"{mem_kib / 2**20:.1f} GiB",
        "PostgreSQL": postgres,
        "Python": platform.python_version(),
        "OS": platform.platform(),
    }


def _ms(value: float | None) -> str:
    return "none finished" if value is None else f"{value:.0f} ms"


def _met(met: bool | None) -> str:
    return "—" if met is None else ("met" if met else "**missed**")


def table(results: Results) -> list[str]:
    lines = ["| measurement | what | result | target | met | note |", "|---|---|---|---|---|---|"]
    for row in results.rows:
        lines.append(
            f"| {row.section} | {row.what} | {row.result} | {row.target or '—'} | "
            f"{_met(row.met)} | {row.note} |"
        )
    return lines


def pages_table(results: Results) -> list[str]:
    lines = [
        "| page | p50 | p95 | req/s | requests | errors | SQL queries | COUNT(*) queries | HTML |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for page in results.pages:
        lines.append(
            f"| {page['name']} | {_ms(page['p50'])} | {_ms(page['p95'])} | "
            f"{page['rps']:.1f} | {page['requests']} | {page['failures']} | {page['queries']} | "
            f"{page['count_star']} | {page['kib']:.0f} KiB |"
        )
    return lines


def load_section(results: Results, command: str) -> list[str]:
    from bench.locust_common import describe_pace

    load = results.load
    pace = load.get("pace", "human")
    start, end = _markers(pace)
    title = "## Load held (issue #7)" if pace == "human" else f"## Load at the {pace} pace"
    lines = [
        start,
        title,
        "",
        f"`{command}` — {load['users']} users (3 agency liaisons for 1 province staff) for "
        f"{load['seconds']} s, {describe_pace(pace)}; liaisons log in and save contributions "
        "and Party-cell visits through the real forms (CSRF included), province staff read "
        "the dashboard, commune pages and lists; a real Celery worker drains the outbox. "
        f"Saved: {load['saved'][0]} contributions, {load['saved'][1]} visits. Afterwards: "
        f"{load['drift']} rollup cells differ from the raw sums (outbox rows left: "
        f"{load['pending']}).",
        "",
        "| request | requests | errors | p50 | p95 | req/s |",
        "|---|---|---|---|---|---|",
    ]
    for name, stats in load["stats"].items():
        lines.append(
            f"| {name} | {stats['requests']} | {stats['failures']} | "
            f"{_ms(stats['p50'])} | {_ms(stats['p95'])} | {stats['rps']:.1f} |"
        )
    if load.get("cpu"):
        shares = ", ".join(f"{group} {share:.0f} %" for group, share in load["cpu"].items())
        lines += [
            "",
            f"CPU used during the scenario, in % of one core ({os.cpu_count()} cores = "
            f"{100 * (os.cpu_count() or 1)} %): {shares}.",
        ]
    lines.append(end)
    return lines


def write(
    path: Path,
    *,
    results: Results,
    scale: str,
    command: str,
    data: dict,
    started: datetime,
    seconds: float,
) -> None:
    info = machine()
    counts = ", ".join(
        f"{name} {value:,}".replace(",", ".") for name, value in data["counts"].items()
    )
    generation = sum(data["timings"].values())
    lines = [
        "# Benchmarks",
        "",
        f"Written by the benchmark suite (`bench/`) itself: `{command}`, scale **{scale}**, "
        f"started {started:%d/%m/%Y %H:%M} (UTC), whole run {seconds / 60:.1f} min. Every figure "
        "below comes from this run.",
        "",
        "| machine | |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in info.items()],
        "",
        f"Data generated with PostgreSQL COPY in {generation:.1f} s: {counts}.",
        "",
        "## Results",
        "",
        *table(results),
        "",
        "## Pages (20 simulated users, each waiting 1–3 s)",
        "",
        "Through gunicorn (2 workers × 4 threads) on 127.0.0.1, driven by locust on the same "
        "machine. SQL queries and HTML size are counted in a separate pass with "
        "`CaptureQueriesContext`.",
        "",
        *pages_table(results),
        "",
        "## Memory of each process",
        "",
        "Exports and the import run each in a child process (`python -m bench.child`) that "
        "reports its own peak resident memory (VmHWM of /proc/self/status), cross-checked by sampling it with "
        "psutil; the web and worker processes are read with psutil after their runs.",
        "",
        *[f"- {name}: {value}" for name, value in results.memory.items()],
        "",
    ]
    if results.load:
        lines += [*load_section(results, command), ""]
    # A section written by `bench load --pace stress` is kept, with the command it names.
    if path.exists() and results.load.get("pace") != "stress":
        start, end = _markers("stress")
        kept = re.search(re.escape(start) + ".*?" + re.escape(end), path.read_text(), re.S)
        if kept:
            lines += [kept.group(0), ""]
    path.write_text("\n".join(lines))


def replace_load_section(path: Path, results: Results, command: str) -> None:
    """`bench load` rewrites only its own section of an existing BENCHMARKS.md."""
    section = "\n".join(load_section(results, command))
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start, end = _markers(results.load.get("pace", "human"))
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
