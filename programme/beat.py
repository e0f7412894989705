"""Celery beat's scheduler: the database schedule of django-celery-beat, sent once per tick.

Two beat processes started by mistake (a second container, a forgotten terminal) would each send
every scheduled task. Before sending, this scheduler takes a Redis key named after the schedule
entry and its tick (`SET NX` with an expiry): the first beat to reach a tick sends it, the
other one logs that it was already sent and skips it.

A tick is the interval-long slot of the clock for interval schedules (every 60 s: one slot per
minute since the epoch), and the minute for crontab and other schedules.
"""

import logging
import math
import os
import socket
import time

import redis
from celery.schedules import schedule as interval_schedule
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

KEY_PREFIX = "programme:beat-tick"


def tick_of(entry_schedule, now: float) -> tuple[int, int]:
    """(slot number, slot length in seconds) of the tick `now` falls in."""
    seconds = 60
    if isinstance(entry_schedule, interval_schedule):
        seconds = max(1, math.ceil(entry_schedule.run_every.total_seconds()))
    return int(now // seconds), seconds


class SingleTickScheduler(DatabaseScheduler):
    """django-celery-beat's DatabaseScheduler, with one send per schedule entry and tick."""

    _redis = None

    def __init__(self, *args, **kwargs):
        # Before the database schedule is read: against an unmigrated database it would crash
        # on its own tables with an obscure error.
        from programme.readiness import refuse_unmigrated

        refuse_unmigrated("beat")
        super().__init__(*args, **kwargs)

    def _lock_client(self):
        if self._redis is None:
            self._redis = redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5
            )
        return self._redis

    def claim_tick(self, name: str, entry_schedule) -> str | None:
        """The key of this tick if this beat is the first to send it, else None."""
        slot, seconds = tick_of(entry_schedule, time.time())
        key = f"{KEY_PREFIX}:{name}:{slot}"
        owner = f"{socket.gethostname()}:{os.getpid()}"
        claimed = self._lock_client().set(key, owner, nx=True, ex=seconds * 2 + 60)
        return key if claimed else None

    def apply_entry(self, entry, producer=None):
        try:
            key = self.claim_tick(entry.name, entry.schedule)
        except redis.RedisError as error:
            # Without Redis nothing can be sent anyway; the next tick tries again.
            logger.error("beat: could not claim the tick of %s: %s", entry.name, error)
            return
        if key is None:
            logger.info("beat: %s skipped, this tick was sent by another beat", entry.name)
            return
        logger.info("beat: %s sent for tick %s", entry.name, key.rsplit(":", 1)[1])
        super().apply_entry(entry, producer=producer)
