"""What both locust files share: the bench users, logging in through the real form."""

import json
import os
import re

# (kind, number) of the dashboards the load scenario's province staff read, in each load year.
LOAD_DASHBOARD_PERIODS = [("year", 1), ("quarter", 1), ("quarter", 3), ("month", 6)]
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def users() -> dict:
    with open(os.environ["BENCH_USERS"]) as handle:
        return json.load(handle)


def login(client, username: str, password: str) -> None:
    page = client.get("/accounts/login/", name="login (form)")
    token = CSRF.search(page.text)
    with client.post(
        "/accounts/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": token.group(1) if token else "",
        },
        name="login",
        catch_response=True,
    ) as response:
        if "/accounts/login/" in response.url:
            response.failure(f"login refused for {username}")


def get_page(client, url: str, name: str) -> None:
    with client.get(url, name=name, catch_response=True) as response:
        if response.status_code == 0:
            response.failure(f"no HTTP answer: {response.error!r}"[:200])
        elif response.status_code != 200:
            response.failure(f"HTTP {response.status_code}")
        elif "/accounts/login/" in response.url:
            response.failure("sent to the login page")
