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

Results given a `Shared` recipe (the province dashboard) are recomputed by the Celery worker
instead (FIGURES_REFRESH_IN_WORKER, on by default): a computation of seconds inside a web
process held the interpreter lock against that process's requests and tripled their slowest
times under load. The worker stores each result in Redis, once for every web process; a web
process whose kept result is older takes the stored one (one small read per stale request to
see whether there is one). The worker refreshes the result shown longest ago first, one at a
time, then rests WORKER_PAUSE_FACTOR times that refresh's time before the next (which it queues
itself while results are listed). Without Redis or a broker the process refreshes in its own
thread as above.
"""

import contextlib
import hashlib
import json
import logging
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import datetime

import redis
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
# The worker's refreshes of shared results (one for all web processes, outside them) rest three
# times as long as each took: at most a quarter of one core (the worker and its database session
# together) goes to refreshes, the rest to the pages. 16 national dashboards of 3–5 s each are
# all recomputed every 3–5 minutes, well within FIGURES_STALE_SECONDS.
WORKER_PAUSE_FACTOR = 3
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


# --- Results recomputed by the worker and shared through Redis -------------------------------

_RECIPES: dict[str, Callable[..., object]] = {}
KEY_PREFIX = "figures"
ASK_SECONDS = 300  # a request for a refresh that got lost is sent again after this long


def recipe(name: str):
    """Register a computation the worker can run again from JSON-able keyword arguments."""

    def register(function):
        _RECIPES[name] = function
        return function

    return register


@dataclass(frozen=True)
class Shared:
    """How the worker recomputes a result: a registered recipe and its arguments."""

    name: str
    arguments: dict

    def id(self, language: str | None) -> str:
        # The database too: two databases (a bench beside a development one) may share a Redis.
        database = connection.settings_dict["NAME"]
        text = json.dumps(
            [database, self.name, self.arguments, language], sort_keys=True, default=str
        )
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


_redis_local = threading.local()


def _redis() -> redis.Redis:
    url = settings.REDIS_URL
    client = getattr(_redis_local, "client", None)
    if client is None or _redis_local.url != url:
        client = _redis_local.client = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=0.5
        )
        _redis_local.url = url
    return client


def _keys(shared_id: str) -> dict[str, str]:
    return {
        "meta": f"{KEY_PREFIX}:meta:{shared_id}",
        "value": f"{KEY_PREFIX}:value:{shared_id}",
    }


# WANTED: the stale results pages asked for, scored by when the shown one was computed (the
# oldest is refreshed first, so every result shown gets its turn). ASKED: a refresh task is in
# the queue. RUNNING: the worker computes one. PAUSE: the worker rests after one.
WANTED_KEY = f"{KEY_PREFIX}:wanted"
ASKED_KEY = f"{KEY_PREFIX}:asked"
RUNNING_KEY, PAUSE_KEY = f"{KEY_PREFIX}:running", f"{KEY_PREFIX}:pause"


def _store_shared(shared_id: str, entry: Kept) -> None:
    """Store a result for every process (best effort: without Redis each keeps its own)."""
    # The exact time as text: a float of seconds does not always come back to the same
    # microsecond, and a result that looks newer than itself would be read again every time.
    meta = json.dumps([list(entry.stamp), entry.computed_at.isoformat(), entry.duration])
    keys = _keys(shared_id)
    try:
        blob = pickle.dumps(entry.value, protocol=pickle.HIGHEST_PROTOCOL)
        ttl = max(int(settings.FIGURES_STALE_SECONDS), 60)
        pipe = _redis().pipeline()
        pipe.set(keys["value"], blob, ex=ttl)
        pipe.set(keys["meta"], meta, ex=ttl)
        pipe.execute()
    except Exception:  # noqa: BLE001 (sharing is an optimisation: never fail a page for it)
        logger.warning("could not share the figures %s", shared_id, exc_info=True)


def _shared_newer(shared_id: str, entry: Kept | None) -> Kept | None:
    """The stored result when it was computed after `entry`; None otherwise or without Redis."""
    keys = _keys(shared_id)
    try:
        client = _redis()
        meta = client.get(keys["meta"])
        if meta is None:
            return None
        stamp, finished, duration = json.loads(meta)
        computed_at = datetime.fromisoformat(finished)
        if entry is not None and computed_at <= entry.computed_at:
            return None
        blob = client.get(keys["value"])
        if blob is None:
            return None
        value = pickle.loads(blob)  # noqa: S301 (written by our own worker into our own Redis)
    except (redis.RedisError, pickle.UnpicklingError, ValueError, EOFError):
        logger.warning("could not read the shared figures %s", shared_id, exc_info=True)
        return None
    started = time.monotonic() - (time.time() - computed_at.timestamp()) - duration
    return Kept(value, tuple(stamp), computed_at, started, duration)


def _recipe_member(shared: Shared, language: str | None) -> str:
    return json.dumps([shared.name, shared.arguments, language], sort_keys=True, default=str)


def _ask_worker(shared: Shared, language: str | None, shown: Kept) -> bool:
    """Put this result on the worker's list (oldest first) and queue a refresh task unless one
    is queued, running or resting; False when Redis or the broker cannot be reached (the caller
    then refreshes in its own thread)."""
    from celery import current_app

    try:
        client = _redis()
        # lt: a result already listed keeps the older of the two times (new ones are added).
        member = _recipe_member(shared, language)
        client.zadd(WANTED_KEY, {member: shown.computed_at.timestamp()}, lt=True)
        if client.exists(PAUSE_KEY, RUNNING_KEY):
            return True  # the worker rests or computes: a later request asks again
        if not client.set(ASKED_KEY, "1", nx=True, ex=ASK_SECONDS):
            return True  # a refresh task is already queued
        current_app.send_task("reports.refresh_figures", ignore_result=True, retry=False)
        return True
    except Exception:  # noqa: BLE001 (no Redis or no broker: the thread does it)
        logger.warning("could not ask the worker to refresh figures", exc_info=True)
        with contextlib.suppress(Exception):
            _redis().delete(ASKED_KEY)
        return False


@contextlib.contextmanager
def _one_core():
    """No parallel query workers for a background refresh: its SQL then takes one core for
    seconds, not every core at once, and the pages being served keep the others."""
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    try:
        yield
    finally:
        with contextlib.suppress(Exception), connection.cursor() as cursor:
            cursor.execute("RESET max_parallel_workers_per_gather")


def _next_after(client: redis.Redis, pause: float) -> None:
    """Queue the next refresh for the end of the rest when results are still listed, so that
    every listed result gets its turn even while few pages are being read."""
    from celery import current_app

    if client.zcard(WANTED_KEY) and client.set(ASKED_KEY, "1", nx=True, ex=ASK_SECONDS):
        try:
            current_app.send_task(
                "reports.refresh_figures", countdown=pause, ignore_result=True, retry=False
            )
        except Exception:  # noqa: BLE001 (a page will ask again)
            client.delete(ASKED_KEY)
            logger.warning("could not queue the next figures refresh", exc_info=True)


def refresh_next() -> str | None:
    """The worker's side: recompute the listed result shown longest ago and store it for every
    web process, then rest. Returns its recipe, or None when another refresh was running (that
    one goes on) or nothing was listed."""
    client = _redis()
    client.delete(ASKED_KEY)  # from now on a page may queue the next one
    if not client.set(RUNNING_KEY, "1", nx=True, ex=ASK_SECONDS):
        return None
    try:
        popped = client.zpopmin(WANTED_KEY)
        if not popped:
            return None
        member = popped[0][0].decode()
        name, arguments, language = json.loads(member)
        if name not in _RECIPES:
            logger.error("no figures recipe %r: dropped from the refresh list", name)
            return None
        shared_id = Shared(name, arguments).id(language)
        stamp = data_stamp()
        stored = client.get(_keys(shared_id)["meta"])
        if stored is not None and tuple(json.loads(stored)[0]) == stamp:
            return member  # computed meanwhile (by a page that could not wait): nothing to do
        with translation.override(language), _one_core():
            entry = _run(stamp, lambda: _RECIPES[name](**arguments))
        _store_shared(shared_id, entry)
        pause = WORKER_PAUSE_FACTOR * entry.duration
        if pause > 0:
            client.set(PAUSE_KEY, "1", px=max(1, int(pause * 1000)))
        _next_after(client, pause)
        return member
    finally:
        client.delete(RUNNING_KEY)


def kept[T](
    key: Hashable,
    compute: Callable[[], T],
    *,
    allow_stale: bool = True,
    shared: Shared | None = None,
) -> Kept:
    """The result for `key`: kept and fresh, kept and stale (see the module docstring; not with
    allow_stale=False, for figures something is decided on, such as reminders), or computed
    now. With `shared`, the worker recomputes it and every process reads the stored result."""
    language = translation.get_language()
    full_key = (key, language, connection.alias)
    stamp = data_stamp()
    entry = _get(full_key)
    if entry is not None and entry.stamp == stamp:
        return entry
    shared_id = None
    if shared is not None and settings.FIGURES_REFRESH_IN_WORKER:
        shared_id = shared.id(language)
        newer = _shared_newer(shared_id, entry)
        if newer is not None:
            _put(full_key, newer)
            entry = _get(full_key) or newer
            if entry.stamp == stamp:
                return entry
    if entry is not None and allow_stale and _stale_allowed(entry):
        due = _age(entry) >= _refresh_after(entry) and full_key not in _computing
        if due and (shared_id is None or not _ask_worker(shared, language, entry)):
            _refresh_in_background(full_key, compute)
        return replace(entry, stale=True)
    entry = _compute_once(full_key, stamp, compute, allow_stale=allow_stale)
    if shared_id is not None:
        _store_shared(shared_id, entry)  # the other processes need not compute it again
    return entry


def remembered[T](
    key: Hashable, compute: Callable[[], T], *, allow_stale: bool = True, shared=None
) -> T:
    """The value of `kept(key, compute)`."""
    return kept(key, compute, allow_stale=allow_stale, shared=shared).value  # type: ignore[return-value]


def forget() -> None:
    """Drop every kept result and the refresh pause (tests and memory pressure)."""
    global _pause_until
    with _lock:
        _entries.clear()
        _pause_until = 0.0


def forget_shared() -> None:
    """Drop every result stored for the processes and the worker's list (a fresh start)."""
    client = _redis()
    keys = list(client.scan_iter(f"{KEY_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)
