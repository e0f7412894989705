"""Computed figures kept in the web process while the data behind them has not changed.

The province dashboard and the completeness page sum every designated commune: at national
scale that is seconds of SQL and Python, although the figures only change when the rollups or
the reference tables do. Database triggers (migration 0004) add a row to reports_datachange for
every statement that changes one of those tables; the stamp (row count, highest id) of that log
is read with one small query per request. A change is seen as soon as it commits, whatever the
order of commits. Results live in the process (no pickling of thousands of rows); each process
keeps the last KEEP of them.

What a request gets:
- a kept result whose stamp is the current one: fresh, one query;
- otherwise, when FIGURES_STALE_SECONDS allows it, the kept result of an older stamp, marked
  stale (the page says when it was computed and that newer figures are coming). A result older
  than FIGURES_REFRESH_SECONDS (and than REFRESH_FACTOR times its computation) is then
  recomputed by a background thread of the process — one such thread per process at a time,
  pausing between refreshes (PAUSE_FACTOR), so constant writes under load can neither make every
  request pay for the computation nor fill the CPU with refreshes;
- otherwise (nothing kept, or too old to show) it is computed now. Requests for the same key at
  the same moment wait for one computation instead of each running their own.
FIGURES_STALE_SECONDS = 0 turns stale results off: every change is shown at the next request.
"""

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone, translation

logger = logging.getLogger(__name__)

# Results kept per process: a national dashboard holds 5–15 MB (3.000–13.000 rows), a
# province's a few hundred kB; the load scenario's staff read 16 periods.
KEEP = 16
# The log is cut back when it grows past this many rows (the cut only changes the stamp).
PRUNE_ABOVE = 5000
PRUNE_KEEP = 100
PRUNE_LOCK = 140_2016  # advisory lock key of the cut
REFRESH_FACTOR = 20
# After a background refresh that took d seconds, the process starts no other one for
# PAUSE_FACTOR × d seconds: refreshes take at most a quarter of one thread's time, whatever the
# number of periods being read while records keep changing.
PAUSE_FACTOR = 3
WAIT_SECONDS = 120  # how long a request waits for the same computation run by another thread


@dataclass(frozen=True)
class Kept:
    """A computed result, the data stamp it was computed from, and when."""

    value: object
    stamp: tuple[int, int]
    computed_at: datetime
    started: float  # time.monotonic() when the computation started
    duration: float = 0.0  # seconds the computation took
    stale: bool = False  # the data changed since; a newer result is on its way


_lock = threading.Lock()
_entries: OrderedDict[Hashable, Kept] = OrderedDict()
_computing: dict[Hashable, threading.Event] = {}
_refreshing = threading.Semaphore(1)
_pause_until = 0.0  # time.monotonic() before which no background refresh starts


def data_stamp() -> tuple[int, int]:
    """(rows, highest id) of the change log: different after any committed change."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), coalesce(max(id), 0) FROM reports_datachange")
        count, top = cursor.fetchone()
        if count > PRUNE_ABOVE:
            # One request at a time cuts the log (the others go on without waiting).
            cursor.execute(
                "WITH cut AS (SELECT pg_try_advisory_xact_lock(%s) AS mine) "
                "DELETE FROM reports_datachange WHERE id < %s AND (SELECT mine FROM cut)",
                [PRUNE_LOCK, top - PRUNE_KEEP],
            )
    return count, top


def _get(full_key: Hashable) -> Kept | None:
    with _lock:
        entry = _entries.get(full_key)
        if entry is not None:
            _entries.move_to_end(full_key)
        return entry


def _put(full_key: Hashable, entry: Kept) -> None:
    with _lock:
        current = _entries.get(full_key)
        if current is not None and current.started > entry.started:
            return  # a computation started later already finished: keep the newer one
        _entries[full_key] = entry
        _entries.move_to_end(full_key)
        while len(_entries) > KEEP:
            _entries.popitem(last=False)


def _compute_once(
    full_key: Hashable, stamp: tuple[int, int], compute: Callable, *, allow_stale: bool = True
) -> Kept:
    """compute() kept under full_key; a thread that finds the same computation running waits
    for its result instead of starting another."""
    with _lock:
        running = _computing.get(full_key)
        if running is None:
            running = _computing[full_key] = threading.Event()
            mine = True
        else:
            mine = False
    if not mine:
        running.wait(WAIT_SECONDS)
        entry = _get(full_key)
        if entry is not None and (entry.stamp == stamp or (allow_stale and _stale_allowed(entry))):
            return entry
        if running.is_set():
            return _compute_once(full_key, stamp, compute, allow_stale=allow_stale)
        return _run(stamp, compute)
    try:
        entry = _run(stamp, compute)
        _put(full_key, entry)
        return entry
    finally:
        with _lock:
            _computing.pop(full_key, None)
        running.set()


def _run(stamp: tuple[int, int], compute: Callable) -> Kept:
    started = time.monotonic()
    value = compute()
    return Kept(value, stamp, timezone.now(), started, time.monotonic() - started)


def _age(entry: Kept) -> float:
    return time.monotonic() - entry.started


def _refresh_after(entry: Kept) -> float:
    """Seconds after its computation started before a stale result is recomputed: at least
    FIGURES_REFRESH_SECONDS, and REFRESH_FACTOR times what it took, so that a computation of
    seconds runs in the background for a few percent of the time at most."""
    return max(settings.FIGURES_REFRESH_SECONDS, REFRESH_FACTOR * entry.duration)


def _stale_allowed(entry: Kept) -> bool:
    return _age(entry) < settings.FIGURES_STALE_SECONDS


def _refresh_in_background(full_key: Hashable, compute: Callable) -> None:
    """Recompute full_key in a thread of this process, unless one refresh already runs."""
    if time.monotonic() < _pause_until or not _refreshing.acquire(blocking=False):
        return
    language = translation.get_language()

    def refresh() -> None:
        global _pause_until
        began = time.monotonic()
        try:
            with translation.override(language):
                _compute_once(full_key, data_stamp(), compute)
        except Exception:
            logger.exception("background refresh of %r failed", full_key[0])
        finally:
            connections.close_all()  # this thread's own connections
            _pause_until = time.monotonic() + PAUSE_FACTOR * (time.monotonic() - began)
            _refreshing.release()

    try:
        threading.Thread(target=refresh, name="figures-refresh", daemon=True).start()
    except RuntimeError:  # the interpreter is shutting down
        _refreshing.release()


def kept[T](key: Hashable, compute: Callable[[], T], *, allow_stale: bool = True) -> Kept:
    """The result for `key`: kept and fresh, kept and stale (see the module docstring; not with
    allow_stale=False, for figures something is decided on, such as reminders), or computed
    now."""
    full_key = (key, translation.get_language(), connection.alias)
    stamp = data_stamp()
    entry = _get(full_key)
    if entry is not None and entry.stamp == stamp:
        return entry
    if entry is not None and allow_stale and _stale_allowed(entry):
        if _age(entry) >= _refresh_after(entry) and full_key not in _computing:
            _refresh_in_background(full_key, compute)
        return replace(entry, stale=True)
    return _compute_once(full_key, stamp, compute, allow_stale=allow_stale)


def remembered[T](key: Hashable, compute: Callable[[], T], *, allow_stale: bool = True) -> T:
    """The value of `kept(key, compute)`."""
    return kept(key, compute, allow_stale=allow_stale).value  # type: ignore[return-value]


def forget() -> None:
    """Drop every kept result and the refresh pause (tests and memory pressure)."""
    global _pause_until
    with _lock:
        _entries.clear()
        _pause_until = 0.0
