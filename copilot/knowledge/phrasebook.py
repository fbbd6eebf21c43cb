"""The phrasebook: vetted phrases per conversational move, per language, with fillable slots."""

from __future__ import annotations

import re
import string
from pathlib import Path

from pydantic import BaseModel

from copilot.knowledge.documents import parse_front_matter

SLOTS = ("issue", "deadline", "action", "remedy", "amount", "approver", "reason", "alternative")
_FORMATTER = string.Formatter()


def slots_of(phrase: str) -> set[str]:
    return {name for _, name, _, _ in _FORMATTER.parse(phrase) if name}


class Phrasebook(BaseModel):
    """`moves[language][move]` is the list of phrases for that move."""

    moves: dict[str, dict[str, list[str]]]

    def phrases(self, language: str, move: str) -> list[str]:
        return self.moves.get(language, {}).get(move, [])

    def fill(self, language: str, move: str, slots: dict[str, str] | None = None, variant: int = 0) -> str | None:
        """The `variant`-th phrase of `move` whose slots can all be filled (cycling), or None."""
        slots = {k: v for k, v in (slots or {}).items() if v}
        usable = [p for p in self.phrases(language, move) if slots_of(p) <= set(slots)]
        if not usable:
            return None
        phrase = usable[variant % len(usable)]
        return phrase.format(**{k: slots.get(k, "") for k in slots_of(phrase)})

    def slot_free(self, language: str, move: str) -> list[str]:
        return [p for p in self.phrases(language, move) if not slots_of(p)]


def load_phrasebook(folder: Path) -> Phrasebook:
    moves: dict[str, dict[str, list[str]]] = {}
    for path in sorted(Path(folder).glob("*.md")):
        meta, _ = parse_front_matter(path.read_text(encoding="utf-8"), origin=str(path))
        if meta.get("kind") != "phrase":
            continue
        language = str(meta["language"])
        bad = {
            f"{move}: {p!r}"
            for move, phrases in (meta.get("moves") or {}).items()
            for p in phrases
            if not slots_of(p) <= set(SLOTS)
        }
        if bad:
            raise ValueError(f"{path}: phrases use unknown slots: {'; '.join(sorted(bad))}")
        moves[language] = {str(k): [re.sub(r"\s+", " ", str(p)).strip() for p in v] for k, v in meta["moves"].items()}
    return Phrasebook(moves=moves)
