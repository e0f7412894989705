"""Accent-insensitive text: "Chất Bình", "chat binh" and "CHAT BINH" all become "chat binh".

The same folding runs in Python (for the typed query) and in PostgreSQL (for the stored,
generated search column) from one table of characters, so both sides always agree. It uses only
the built-in `translate()` and `lower()` functions: no `unaccent` extension is needed.
"""

import unicodedata

from django.db.models import CharField, Func, Value
from django.db.models.functions import Lower

_VOWELS = {
    "a": "aàáảãạăằắẳẵặâầấẩẫậ",
    "e": "eèéẻẽẹêềếểễệ",
    "i": "iìíỉĩị",
    "o": "oòóỏõọôồốổỗộơờớởỡợ",
    "u": "uùúủũụưừứửữự",
    "y": "yỳýỷỹỵ",
    "d": "dđ",
}

ACCENTED = "".join(chars[1:] + chars[1:].upper() for chars in _VOWELS.values())
PLAIN = "".join(base * (len(chars) - 1) * 2 for base, chars in _VOWELS.items())
assert len(ACCENTED) == len(PLAIN)

_TABLE = str.maketrans(ACCENTED, PLAIN)


def fold(text: str) -> str:
    """Lower-case, strip Vietnamese diacritics (đ→d) and collapse white space."""
    composed = unicodedata.normalize("NFC", text or "")
    folded = composed.translate(_TABLE).lower()
    # Anything left with a combining mark (rare non-Vietnamese letters) loses it too.
    decomposed = unicodedata.normalize("NFD", folded)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # NUL never occurs in stored text (PostgreSQL refuses it) and would make the query fail.
    return " ".join(stripped.replace("\x00", "").split())


def fold_sql(expression) -> Func:
    """SQL twin of `fold()`, usable in a generated column (every function in it is immutable)."""
    translated = Func(expression, Value(ACCENTED), Value(PLAIN), function="translate")
    spaced = Func(
        Lower(translated), Value(r"\s+"), Value(" "), Value("g"), function="regexp_replace"
    )
    return Func(spaced, function="btrim", output_field=CharField())
