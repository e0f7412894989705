"""Garbage collection in the web processes: no full collection in the middle of requests.

Each web process keeps computed figures (reports.figures_cache): at national scale a dashboard
is tens of thousands of objects, 16 of them per process. CPython's automatic full collection
walks every object and stops all the threads of the process meanwhile; under the load
scenario it ran every 10–40 s and took 0,4–1,5 s, and most of the slow requests were waiting for
it (bench, 27/11/2026). Here the objects loaded at start-up are frozen (never garbage, never
walked again), young collections wait for more new objects (so that a request's short-lived
objects die young instead of being promoted), and the full collection runs from a thread every
WEB_GC_FULL_SECONDS instead of whenever CPython decides.
"""

import gc
import logging
import threading
import time
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

# Gen1 collections before an automatic full one: never reached in practice.
NO_AUTOMATIC_FULL = 1_000_000_000
# New objects between two young collections (CPython: 700). A request allocates thousands of
# objects in a few milliseconds: with 700 they were promoted while still in use, and those in
# reference cycles then waited for a full collection after the request ended (10 minutes of them
# took 5 s to walk). With this many, most die young and are freed by a young collection.
YOUNG_THRESHOLD = 50_000


@dataclass
class Tuning:
    every: float
    thresholds: tuple[int, int, int]
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def undo(self) -> None:
        """Back to CPython's own collection (tests)."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join(5)
        gc.set_threshold(*self.thresholds)
        gc.unfreeze()


def tune_for_web(every: float) -> Tuning | None:
    """Freeze what start-up loaded; when `every` > 0, full collections every `every` seconds
    from a daemon thread instead of whenever CPython decides. None when `every` <= 0."""
    if every <= 0:
        return None
    gc.collect()  # start-up garbage is not frozen with the rest
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, thresholds[1], NO_AUTOMATIC_FULL)
    tuning = Tuning(every, thresholds)

    def collect() -> None:
        while not tuning.stop.wait(every):
            began = time.perf_counter()
            found = gc.collect()
            logger.debug(
                "full collection: %d objects in %.0f ms",
                found,
                (time.perf_counter() - began) * 1000,
            )

    tuning.thread = threading.Thread(target=collect, name="gc-full", daemon=True)
    tuning.thread.start()
    return tuning
