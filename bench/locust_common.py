"""What both locust files share: the bench users, logging in through the real form."""

import json
import os
import re

# (kind, number) of the dashboards the load scenario's province staff read, in each load year.
LOAD_DASHBOARD_PERIODS = [("year", 1), ("quarter", 1), ("quarter", 3), ("month", 6)]
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

# How fast the simulated people go, in seconds (BENCH_PACE). "human": a page read or a choice
# made every 3–10 s, and 5–15 s to fill a form in between loading it and sending it (a liaison
# on a phone takes longer still). "stress": 1–3 s between requests and forms sent the moment
# they load, about the rate where the 2 cores of the bench machine saturate.
PACES = {
    "human": {"think": (3, 10), "fill": (5, 15)},
    "stress": {"think": (1, 3), "fill": (0, 0)},
}


def pace() -> dict:
    name = os.environ.get("BENCH_PACE", "human")
    return {"name": name, **PACES[name]}


def describe_pace(name: str) -> str:
    think, fill = PACES[name]["think"], PACES[name]["fill"]
    text = f"each waiting {think[0]}–{think[1]} s between tasks"
    if fill[1]:
        text += f" and taking {fill[0]}–{fill[1]} s to fill a form before sending it"
    else:
        text += ", forms sent as soon as they load"
    return text


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
