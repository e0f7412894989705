"""Command line of the benchmark suite.

    python -m bench run [--scale small|medium|full] [--out BENCHMARKS.md] [--reuse-data]
    python -m bench load [--users 50] [--minutes 10] [--pace human|stress] [--out BENCHMARKS.md]

The benchmark never touches your data: it works in its own database, DATABASE_URL's name with
`_bench` appended (created and migrated when missing), or BENCH_DATABASE_URL when set; without
DATABASE_URL it starts the embedded PostgreSQL and Redis of `programme.stack`. Redis is
REDIS_URL's (the worker's queue). Logs and intermediate files go to var/bench/<scale>/.
"""

import argparse
import contextlib
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
STEPS = ("rollups", "refresh", "pages", "exports", "import", "load")


def _bench_database() -> list:
    """Point DATABASE_URL at the benchmark's own database, creating it when missing."""
    handles = []
    if os.environ.get("BENCH_DATABASE_URL"):
        os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    elif not os.environ.get("DATABASE_URL"):
        from programme.stack import prepare_environment

        handles = prepare_environment("programme_bench")
    else:
        parts = urlsplit(os.environ["DATABASE_URL"])
        name = parts.path.lstrip("/") or "programme"
        if not name.endswith("_bench"):
            name += "_bench"
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + name))
    import psycopg

    parts = urlsplit(os.environ["DATABASE_URL"])
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return handles


def run_all(
    *,
    scale_name: str,
    out: Path,
    folder: Path,
    command: str,
    generate_data: bool = True,
    steps: tuple[str, ...] = STEPS,
    log=print,
    scale=None,
) -> "object":
    """Generate (unless reusing), measure every step, write `out`. Returns the Results."""
    from bench import measure, procs
    from bench.generate import generate, users_file
    from bench.report import write
    from bench.scales import SCALES

    scale = scale or SCALES[scale_name]
    folder.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    began = time.perf_counter()
    if generate_data:
        log(f"Generating {scale_name} data…")
        data = generate(scale, log=log)
    else:
        data = _existing_data(scale)
    users = {**data["users"], "years": measure.load_years()}
    users_path = users_file(users, folder)
    results = measure.Results()
    with contextlib.ExitStack() as stack:
        services = procs.Services(stack, folder)
        plan = {
            "rollups": lambda: measure.measure_rollups(results, log),
            "refresh": lambda: measure.measure_refresh(results, scale, users, services, log),
            "pages": lambda: measure.measure_pages(
                results, scale, users_path, users, services, log
            ),
            "exports": lambda: measure.measure_exports(results, scale, users, log),
            "import": lambda: measure.measure_import(results, scale, users, folder, log),
            "load": lambda: measure.measure_load(
                results,
                users_count=scale.load_users,
                seconds=scale.load_seconds,
                users_path=users_path,
                services=services,
                log=log,
                pace=scale.load_pace,
            ),
        }
        for name, step in plan.items():
            if name in steps:
                log(f"Measuring: {name}")
                step_began = time.perf_counter()
                step()
                log(f"  ({name} took {time.perf_counter() - step_began:.1f} s)")
    write(
        out,
        results=results,
        scale=scale_name,
        command=command,
        data=data,
        started=started,
        seconds=time.perf_counter() - began,
    )
    log(f"Wrote {out}")
    return results


def _existing_data(scale) -> dict:
    """Reuse the data in the database (--reuse-data, `load`): count it, find the bench users."""
    from django.db import connection
    from django.utils import timezone

    from bench.generate import users_from_db

    tables = {
        "contributions": "programme_contribution",
        "visits": "programme_visit",
        "difficulties": "programme_difficulty",
        "plans": "programme_plan",
        "agencies": "partners_agency",
        "enterprises": "partners_enterprise",
    }
    counts = {}
    with connection.cursor() as cursor:
        for name, table in tables.items():
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            counts[name] = cursor.fetchone()[0]
    users = users_from_db(timezone.localdate())
    if users is None:
        raise SystemExit("No bench data here: run `python -m bench run` first.")
    return {"counts": counts, "timings": {}, "users": users}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="generate data, run every measurement, write the table")
    run.add_argument(
        "--scale", choices=["small", "medium", "full"], default=os.environ.get("SCALE", "small")
    )
    run.add_argument("--out", type=Path, default=BASE_DIR / "BENCHMARKS.md")
    run.add_argument(
        "--reuse-data", action="store_true", help="measure the data already in the bench database"
    )
    run.add_argument("--steps", default=",".join(STEPS))
    load = sub.add_parser("load", help="only the issue #7 load scenario, on the existing data")
    load.add_argument("--users", type=int, default=50)
    load.add_argument("--minutes", type=float, default=10)
    load.add_argument("--out", type=Path, default=BASE_DIR / "BENCHMARKS.md")
    load.add_argument(
        "--pace",
        choices=["human", "stress"],
        default="human",
        help="how fast the simulated people go (bench/locust_common.py PACES)",
    )
    args = parser.parse_args(argv)

    # A stopped run stops the worker, web server and children it started (ExitStack).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    handles = _bench_database()  # noqa: F841 (keeps embedded servers alive)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    command = "python -m bench " + " ".join(argv)
    if args.command == "run":
        run_all(
            scale_name=args.scale,
            out=args.out,
            folder=BASE_DIR / "var" / "bench" / args.scale,
            command=command,
            generate_data=not args.reuse_data,
            steps=tuple(args.steps.split(",")),
        )
        return 0
    from bench import measure, procs
    from bench.generate import users_file
    from bench.report import replace_load_section
    from bench.scales import SCALES

    folder = BASE_DIR / "var" / "bench" / "load"
    data = _existing_data(SCALES["full"])
    users_path = users_file({**data["users"], "years": measure.load_years()}, folder)
    results = measure.Results()
    with contextlib.ExitStack() as stack:
        measure.measure_load(
            results,
            users_count=args.users,
            seconds=int(args.minutes * 60),
            users_path=users_path,
            services=procs.Services(stack, folder),
            log=print,
            pace=args.pace,
        )
    replace_load_section(args.out, results, command)
    for row in results.rows:
        print(f"{row.what}: {row.result} (target {row.target}: {'met' if row.met else 'MISSED'})")
    return 0 if all(row.met for row in results.rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
