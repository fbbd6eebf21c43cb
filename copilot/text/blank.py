"""Text that shows nothing: whitespace, control and format characters (zero-width spaces and joiners,
direction marks, the soft hyphen, invisible operators) and the fillers that render as blanks."""

from __future__ import annotations

import unicodedata

_FILLERS = frozenset("\u2800\u3164\uffa0\u115f\u1160\u180e")
_EMPTY_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def is_blank(text: str) -> bool:
    """True when the text has no character a reader would see (an empty string included)."""
    return all(ch.isspace() or ch in _FILLERS or unicodedata.category(ch) in _EMPTY_CATEGORIES for ch in text)
