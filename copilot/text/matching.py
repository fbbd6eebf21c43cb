"""The form of a text that rules and lexicons match against."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from copilot.text.script import to_simplified

# curly apostrophes and quotes in English replies match the ASCII patterns (one character for one)
QUOTES = str.maketrans({"’": "'", "‘": "'", "‛": "'", "＇": "'"})
_CANTONESE = Path(__file__).with_name("cantonese.yaml")


def normalise_for_matching(text: str) -> str:
    """Mandarin words in Simplified script with every character at its original offset, so spans map back
    exactly: written Cantonese is read as Mandarin first (cantonese.yaml), then Traditional as Simplified."""
    text = read_cantonese(text)
    simplified = to_simplified(text)
    if len(simplified) != len(text):
        simplified = "".join(c if len(s := to_simplified(c)) != 1 else s for c in text)
    return simplified.translate(QUOTES)


def read_cantonese(text: str) -> str:
    """Written Cantonese words replaced by Mandarin ones of the same length (唔關我哋事 -> 不關我们事)."""
    pattern, table = _cantonese()
    if not pattern.search(text):
        return text
    return pattern.sub(lambda m: table[m.group()], text)


@lru_cache(maxsize=1)
def _cantonese() -> tuple[re.Pattern[str], dict[str, str]]:
    data = yaml.safe_load(_CANTONESE.read_text(encoding="utf-8"))
    table = {**data["chars"], **data["words"]}
    for word, to in table.items():
        if len(word) != len(to):
            raise ValueError(f"{_CANTONESE}: '{word}' -> '{to}' changes the length; offsets would not map back")
    keep = {c: "".join(after) for c, after in data.get("keep_after", {}).items()}
    alternatives = [re.escape(w) for w in sorted(data["words"], key=len, reverse=True)]
    for char in data["chars"]:
        guard = f"(?<![{re.escape(keep[char])}])" if char in keep else ""
        alternatives.append(guard + re.escape(char))
    for char, rule in data.get("before", {}).items():
        table[char] = rule["to"]
        alternatives.append(f"{re.escape(char)}(?=[{re.escape(rule['next'])}])")
    return re.compile("|".join(alternatives)), table
