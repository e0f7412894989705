"""Issue #7 "Load held": agency liaisons logging records while province staff browse dashboards.

Liaisons fill in the real forms (GET the form, POST it with its CSRF token) for their own
communes and agency, dated today; province staff read the dashboard, commune pages and lists.
A saved form answers with a redirect to the record; a form shown again is counted as a failure.
How fast they go is BENCH_PACE's (bench.locust_common.PACES).
"""

import itertools
import random
import re

import gevent
from locust import HttpUser, between, task

from bench.locust_common import CSRF, LOAD_DASHBOARD_PERIODS, get_page, login, pace, users

USERS = users()
PACE = pace()
_liaisons = itertools.cycle(USERS["liaisons"])
ERRORS = re.compile(r'class="[^"]*invalid-feedback[^"]*"[^>]*>([^<]+)<|alert-danger[^>]*>([^<]+)<')


class Liaison(HttpUser):
    weight = 3
    wait_time = between(*PACE["think"])

    def on_start(self):
        self.me = next(_liaisons)
        login(self.client, self.me["username"], USERS["password"])

    def _submit(self, path: str, name: str, data: dict) -> None:
        page = self.client.get(path, name=f"{name} (form)")
        token = CSRF.search(page.text)
        if not token:
            return  # the form did not load: that failure is already counted
        data["csrfmiddlewaretoken"] = token.group(1)
        if PACE["fill"][1]:
            gevent.sleep(random.uniform(*PACE["fill"]))  # filling the form in
        with self.client.post(path, data=data, name=name, catch_response=True) as response:
            if response.status_code != 200 or response.url.rstrip("/").endswith("/new"):
                found = ERRORS.findall(response.text)
                response.failure(f"not saved: HTTP {response.status_code} {found[:3]}")

    @task(3)
    def contribution(self):
        self._submit(
            "/contributions/new/",
            "POST contribution",
            {
                "date": USERS["today"],
                "commune": random.choice(self.me["communes"]),
                "agency": self.me["agency"],
                "category": random.choice(USERS["categories"]),
                "area": "",
                "form": "cash",
                "value": f"{random.randint(1, 500) * 100_000:,}".replace(",", "."),
                "beneficiaries": str(random.randint(0, 50)),
                "description": "Hỗ trợ (kiểm thử tải) quà cho hộ nghèo",
                "status": "delivered",
            },
        )

    @task(2)
    def visit(self):
        self._submit(
            "/visits/new/",
            "POST visit",
            {
                "commune": random.choice(self.me["communes"]),
                "agency": self.me["agency"],
                "date": USERS["today"],
                "kind": "cell_meeting",
                "village": f"Chi bộ thôn {random.randint(1, 12)}",
                "participants_count": str(random.randint(5, 40)),
                "summary": "Dự sinh hoạt chi bộ (kiểm thử tải)",
            },
        )

    @task(2)
    def home(self):
        get_page(self.client, "/", "liaison home")

    @task(1)
    def my_contributions(self):
        get_page(self.client, "/contributions/", "liaison contributions")


class ProvinceStaff(HttpUser):
    weight = 1
    wait_time = between(*PACE["think"])

    def on_start(self):
        login(self.client, random.choice(USERS["province"]), USERS["password"])

    @task(3)
    def dashboard(self):
        kind, number = random.choice(LOAD_DASHBOARD_PERIODS)
        year = random.choice(USERS.get("years") or [2025])
        get_page(self.client, f"/dashboard/?kind={kind}&year={year}&number={number}", "dashboard")

    @task(1)
    def commune(self):
        liaison = random.choice(USERS["liaisons"])
        get_page(self.client, f"/communes/{random.choice(liaison['communes'])}/", "commune page")

    @task(1)
    def contributions(self):
        get_page(self.client, "/contributions/", "contributions list")
