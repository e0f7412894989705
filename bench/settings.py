"""Settings of the benchmark processes (web under gunicorn, Celery worker, child processes).

The test settings (production settings with DEBUG off, a throw-away secret, plain static files,
fast password hashing so that logging in hundreds of simulated users does not dominate the
figures), with cookies that the load generator may send back over plain HTTP on 127.0.0.1.
"""

import gc as _gc
import sys as _sys
import time as _time

from programme.env import env_bool, env_int
from programme.settings_test import *  # noqa: F403

# As in production (the tests turn it off to see every change at once): the dashboard shows its
# kept figures, with their time, while the worker recomputes them.
FIGURES_STALE_SECONDS = env_int("FIGURES_STALE_SECONDS", 15 * 60)
FIGURES_REFRESH_IN_WORKER = env_bool("FIGURES_REFRESH_IN_WORKER", True)

SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]


def _log_full_collections(phase: str, info: dict, _began: list[float] = [0.0]) -> None:  # noqa: B006
    """Every full garbage collection of a bench process, with how long it stopped the process,
    in that process's log ("GC2 <time> <ms> ms"): under load they were the slowest requests'
    cause before programme/gc_tuning.py."""
    if info["generation"] != 2:
        return
    if phase == "start":
        _began[0] = _time.perf_counter()
    else:
        took = (_time.perf_counter() - _began[0]) * 1000
        print(f"GC2 {_time.strftime('%H:%M:%S')} {took:.0f} ms", file=_sys.stderr, flush=True)


_gc.callbacks.append(_log_full_collections)
