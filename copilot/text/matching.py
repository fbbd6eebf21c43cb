"""The form of a text that rules and lexicons match against."""

from __future__ import annotations

from copilot.text.script import to_simplified

# curly apostrophes and quotes in English replies match the ASCII patterns (one character for one)
QUOTES = str.maketrans({"’": "'", "‘": "'", "‛": "'", "＇": "'"})


def normalise_for_matching(text: str) -> str:
    """Simplified script with every character at its original offset, so spans map back exactly."""
    simplified = to_simplified(text)
    if len(simplified) != len(text):
        simplified = "".join(c if len(s := to_simplified(c)) != 1 else s for c in text)
    return simplified.translate(QUOTES)
