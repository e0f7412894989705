"""Computed figures kept in the worker process while the data behind them has not changed.

The province dashboard and the completeness page sum every designated commune: at national
scale that is seconds of SQL and Python, although the figures only change when the rollups or
the reference tables do. Database triggers (migration 0004) add a row to reports_datachange for
every statement that changes one of those tables; the stamp (row count, highest id) of that log
is read with one small query per request and is part of every key here. A change is seen as
soon as it commits, whatever the order of commits, so a kept result is never served after a
change it did not see. Results live in the process (no pickling of thousands of rows); each
process keeps the last KEEP of them.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from django.db import connection
from django.utils import translation

KEEP = 4  # a national dashboard holds about 40 MB
# The log is cut back when it grows past this many rows (the cut only changes the stamp).
PRUNE_ABOVE = 5000
PRUNE_KEEP = 100
PRUNE_LOCK = 140_2016  # advisory lock key of the cut

_lock = threading.Lock()
_entries: OrderedDict[Hashable, object] = OrderedDict()


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


def remembered[T](key: Hashable, compute: Callable[[], T]) -> T:
    """The result kept for `key` and the current data, or `compute()` kept for next time."""
    full_key = (key, translation.get_language(), connection.alias, data_stamp())
    with _lock:
        if full_key in _entries:
            _entries.move_to_end(full_key)
            return _entries[full_key]  # type: ignore[return-value]
    value = compute()
    with _lock:
        _entries[full_key] = value
        _entries.move_to_end(full_key)
        while len(_entries) > KEEP:
            _entries.popitem(last=False)
    return value


def forget() -> None:
    """Drop every kept result (tests and memory pressure)."""
    with _lock:
        _entries.clear()
