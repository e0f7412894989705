"""Web processes collect the oldest garbage generation on a timer, not in the middle of requests
(programme/gc_tuning.py)."""

import contextlib
import gc
from collections import Counter

from programme.gc_tuning import NO_AUTOMATIC_FULL, YOUNG_THRESHOLD, tune_for_web


class Cycle:
    def __init__(self):
        self.me = self  # only the cycle collector frees it


@contextlib.contextmanager
def collections():
    """Counts the collections of each generation that finish meanwhile."""
    seen = Counter()

    def callback(phase, info):
        if phase == "stop":
            seen[info["generation"]] += 1

    gc.callbacks.append(callback)
    try:
        yield seen
    finally:
        gc.callbacks.remove(callback)


def test_no_automatic_full_collection_however_much_garbage():
    before = gc.get_threshold()
    tuning = tune_for_web(3600)
    try:
        assert gc.get_threshold() == (YOUNG_THRESHOLD, before[1], NO_AUTOMATIC_FULL)
        assert gc.get_freeze_count() > 0  # what start-up loaded is never walked again
        with collections() as seen:
            for _ in range(3_000_000):
                Cycle()
        assert seen[0] > 20 and seen[1] > 1  # the young generations as usual
        assert seen[2] == 0
    finally:
        tuning.undo()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert not tuning.thread.is_alive()


def test_the_timer_runs_the_full_collection():
    tuning = tune_for_web(0.2)
    try:
        assert tuning.thread.name == "gc-full" and tuning.thread.daemon
        with collections() as seen:
            tuning.stop.wait(1.5)
        assert seen[2] >= 2
    finally:
        tuning.undo()


def test_zero_leaves_cpython_alone():
    before = gc.get_threshold()
    assert tune_for_web(0) is None
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
