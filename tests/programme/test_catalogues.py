"""Every user-facing string is translated, and the compiled catalogues match their sources."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

LOCALE = Path(__file__).resolve().parents[2] / "programme" / "locale"


def _entries(language: str):
    po = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    return po, [entry for entry in po if not entry.obsolete]


def test_the_vietnamese_catalogue_has_no_untranslated_or_fuzzy_entry():
    po, entries = _entries("vi")
    assert entries, "the catalogue is empty"
    missing = [e.msgid for e in entries if not e.translated() or "fuzzy" in e.flags]
    assert missing == []


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_compiled_catalogue_matches_its_source(language):
    po, entries = _entries(language)
    mo = polib.mofile(str(LOCALE / language / "LC_MESSAGES" / "django.mo"))
    compiled = {
        (e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items()))) for e in mo
    }
    source = {
        (e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
        for e in entries
        if e.translated() and "fuzzy" not in e.flags
    }
    assert compiled == source, "run `make messages` to recompile the catalogues"


def test_every_marked_string_is_in_the_catalogue(tmp_path):
    """`make messages` was run after the last user-facing string was added or changed."""
    if not shutil.which("xgettext"):
        if os.environ.get("CI"):
            pytest.fail("GNU gettext (xgettext) is needed to check the catalogue.")
        pytest.skip("GNU gettext is not installed")
    root = LOCALE.parents[1]
    copy = tmp_path / "src"
    for name in ("programme", "communes", "partners", "reports", "templates"):
        shutil.copytree(root / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(root / "manage.py", copy / "manage.py")
    env = {**os.environ, "DJANGO_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "programme.settings"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "vi", "--no-obsolete"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    fresh = polib.pofile(str(copy / "programme" / "locale" / "vi" / "LC_MESSAGES" / "django.po"))
    _po, entries = _entries("vi")
    committed = {(e.msgctxt, e.msgid) for e in entries}
    missing = sorted(str(key) for key in {(e.msgctxt, e.msgid) for e in fresh} - committed)
    assert missing == [], "run `make messages` and translate the new strings"
