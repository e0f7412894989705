"""Province staff reading the pages of issue #6, measurement 3.

BENCH_PAGES names a JSON file {page name: [URL, …]}; BENCH_WAIT is "1-3" (seconds between
requests of one user) or "0" (saturated).
"""

import itertools
import json
import os
import random

from locust import HttpUser, between, constant, task

from bench.locust_common import get_page, login, users

USERS = users()
with open(os.environ["BENCH_PAGES"]) as _handle:
    PAGES = json.load(_handle)
_low, _, _high = os.environ.get("BENCH_WAIT", "1-3").partition("-")
_starts = itertools.count()


class ProvinceReader(HttpUser):
    wait_time = between(float(_low), float(_high)) if _high else constant(float(_low))

    def on_start(self):
        login(self.client, random.choice(USERS["province"]), USERS["password"])
        # Each user goes round the pages from its own starting point: every page is asked
        # for from the first second, in equal shares.
        names = list(PAGES)
        first = next(_starts) % len(names)
        self.rounds = itertools.cycle(names[first:] + names[:first])

    @task
    def page(self):
        name = next(self.rounds)
        get_page(self.client, random.choice(PAGES[name]), name)
