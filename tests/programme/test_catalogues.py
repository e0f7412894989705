"""Every user-facing string is translated, and the compiled catalogues match their sources."""

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
