"""Django's Content Security Policy: the header is on every page, with a fresh nonce that the
page's scripts carry; nothing in the templates needs 'unsafe-inline'."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]{16,})'")


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    policy = {}
    for part in header.split(";"):
        name, *values = part.split()
        policy[name] = values
    return policy


@pytest.mark.parametrize(
    ("url_name", "who"),
    [
        ("login", None),
        ("home", "staff"),
        ("reports:dashboard", "staff"),
        ("programme:visit_list", "liaison_a"),
        ("programme:visit_new", "liaison_a"),
        ("reports:report_list", "staff"),
    ],
)
def test_every_page_has_the_policy_with_a_nonce_its_scripts_carry(client, world, url_name, who):
    if who:
        client.force_login(getattr(world, who))
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"][0] == "'self'"
    (nonce,) = NONCE.findall(" ".join(policy["script-src"]))
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["img-src"][:2] == ["'self'", "data:"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    page = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*\bsrc=[^>]*>", page)
    assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts if "/vendor/" in tag)
    # htmx is told not to insert its own <style>.
    assert '"includeIndicatorStyles": false' in page


def test_the_nonce_changes_with_every_response(client):
    first = NONCE.search(client.get(reverse("login"))["Content-Security-Policy"]).group(1)
    second = NONCE.search(client.get(reverse("login"))["Content-Security-Policy"]).group(1)
    assert first != second


def test_the_map_tile_server_may_serve_images():
    from django.conf import settings

    assert "https://tile.openstreetmap.org" in settings.SECURE_CSP["img-src"]


def _templates():
    for folder in [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]:
        yield from folder.rglob("*.html")


INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*application/(ld\+)?json)[^>]*>", re.I)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.I)

# Rendered only into the PDF (WeasyPrint), never sent to a browser.
PDF_ONLY = {"reports/report_pdf.html"}


def test_no_template_needs_unsafe_inline():
    offences = []
    for path in _templates():
        name = "/".join(path.parts[path.parts.index("templates") + 1 :])
        if name in PDF_ONLY:
            continue
        text = path.read_text()
        for label, pattern in [
            ("inline event handler", INLINE_HANDLER),
            ("style attribute", STYLE_ATTRIBUTE),
            ("inline script", INLINE_SCRIPT),
            ("javascript: URL", JS_URL),
        ]:
            if pattern.search(text):
                offences.append(f"{name}: {label}")
        if "<style" in text and "nonce=" not in text:
            offences.append(f"{name}: <style> without a nonce")
    assert offences == []
