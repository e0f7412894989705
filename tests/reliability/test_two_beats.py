"""Two Celery beat processes started by mistake: each scheduled job is still sent once per tick.

Both beats run the project's scheduler (programme.beat.SingleTickScheduler) against the same
database and a private Redis, with the outbox drain due every second. Without the tick lock
each second would be sent twice; with it, the ticks each beat sent are disjoint, each beat
skipped ticks the other had sent, and the queue holds exactly one message per tick sent.
"""

import json
import re
import time

import pytest

from tests.reliability.conftest import (
    env_number,
    start_celery,
    stop_process,
    subprocess_env,
    wait_for,
)

WINDOW = env_number("RELIABILITY_BEAT_SECONDS", 8)
SENT = re.compile(rb"beat: drain-rollup-outbox sent for tick (\d+)")
SKIPPED = re.compile(rb"beat: drain-rollup-outbox skipped")


def _queued_drains(client) -> int:
    count = 0
    for raw in client.lrange("celery", 0, -1):
        if json.loads(raw)["headers"]["task"] == "reports.drain_outbox":
            count += 1
    return count


@pytest.mark.django_db(transaction=True)
def test_two_beats_send_each_tick_once(private_redis, tmp_path):
    env = subprocess_env(REDIS_URL=private_redis.url, ROLLUP_DRAIN_SECONDS="1")
    logs = [tmp_path / "beat-a.log", tmp_path / "beat-b.log"]
    beats = []
    try:
        for log in logs:
            beats.append(start_celery("beat", env=env, log=log, args=("-s", str(log) + ".db")))
            # Both beats write the schedule into the database at start: one after the other.
            assert wait_for(
                lambda log=log: SENT.search(log.read_bytes()) or SKIPPED.search(log.read_bytes()),
                seconds=60,
            ), log.read_text()[-3000:]
        time.sleep(WINDOW)
        # The beat that sends goes away: the other one takes the ticks over.
        first = (
            0
            if len(SENT.findall(logs[0].read_bytes())) >= len(SENT.findall(logs[1].read_bytes()))
            else 1
        )
        before = len(SENT.findall(logs[1 - first].read_bytes()))
        stop_process(beats[first])
        assert wait_for(
            lambda: len(SENT.findall(logs[1 - first].read_bytes())) >= before + 2, seconds=30
        ), logs[1 - first].read_text()[-3000:]
    finally:
        for beat in beats:
            stop_process(beat)

    sent = [{int(tick) for tick in SENT.findall(log.read_bytes())} for log in logs]
    sends = [len(SENT.findall(log.read_bytes())) for log in logs]
    skipped = [len(SKIPPED.findall(log.read_bytes())) for log in logs]
    assert sends == [len(ticks) for ticks in sent], "a beat sent a tick twice"
    assert not sent[0] & sent[1], f"a tick sent by both beats: {sorted(sent[0] & sent[1])}"
    assert sum(skipped) >= WINDOW - 2, f"ticks skipped while both ran: {skipped}"
    assert _queued_drains(private_redis.client()) == sum(sends)
    # One send per second while both ran, not two.
    span = max(sent[0] | sent[1]) - min(sent[0] | sent[1]) + 1
    assert sum(sends) <= span


def test_the_tick_of_an_interval_and_of_a_crontab():
    from datetime import timedelta

    from celery.schedules import crontab, schedule

    from programme.beat import tick_of

    assert tick_of(schedule(timedelta(seconds=60)), 1_000_020.0) == (16_667, 60)
    assert tick_of(schedule(timedelta(seconds=60)), 1_000_079.9) == (16_667, 60)
    assert tick_of(schedule(timedelta(seconds=60)), 1_000_080.0) == (16_668, 60)
    assert tick_of(crontab(hour=1, minute=30), 5_400.0) == (90, 60)
