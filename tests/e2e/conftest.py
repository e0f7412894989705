"""Browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium) against live_server."""

import contextlib
import os
import shutil

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM guard would refuse the
# test's own database calls. The calls are still synchronous and on this thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM}: install Debian's chromium package."
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run the browser tests
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


# Content Security Policy: every browser test fails on any violation, reported by the page
# ('securitypolicyviolation' events, through a binding the init script calls) or by Chromium on
# the console ("Refused to … because it violates the following Content Security Policy …").
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolation([event.violatedDirective, event.blockedURI, event.sourceFile,
                         event.lineNumber, event.sample].join(" | "));
});
"""


def _watch_csp(context) -> list[str]:
    violations: list[str] = []

    def report(text: str) -> None:
        violations.append(text)

    context.expose_function("__cspViolation", report)
    context.add_init_script(CSP_WATCH)

    def console(message):
        if "Content Security Policy" in message.text:
            violations.append(f"console: {message.text}")

    context.on("page", lambda new_page: new_page.on("console", console))
    return violations


def _close_checking_csp(context, page, violations: list[str]) -> None:
    # A round trip, so that reports already sent by the page have arrived (the test may have
    # closed the page).
    with contextlib.suppress(Exception):
        page.evaluate("0")
    context.close()
    if violations:
        pytest.fail("Content Security Policy violations:\n" + "\n".join(violations))


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    violations = _watch_csp(context)
    page = context.new_page()
    yield page
    _close_checking_csp(context, page, violations)


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, locale="vi-VN", is_mobile=True, has_touch=True
    )
    violations = _watch_csp(context)
    page = context.new_page()
    yield page
    _close_checking_csp(context, page, violations)
