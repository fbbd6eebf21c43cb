"""Sentence splitting that respects Chinese sentence ends (。！？；…) as well as English ones."""

from __future__ import annotations

import re

# A sentence ends at Chinese end punctuation (optionally followed by closing quotes/brackets), at
# English end punctuation followed by whitespace, or at a line break.
_SENTENCE_END = re.compile(
    r"(?<=[。！？；!?…])[」』”’）)\]]*"
    r"|(?<=[.!?])[\"')\]]*(?=\s)"
    r"|\n+"
)


def split_sentences(text: str) -> list[str]:
    """Split into sentences, keeping each sentence's own punctuation; empty pieces dropped."""
    pieces: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        piece = text[start:end].strip()
        if piece:
            pieces.append(piece)
        start = end
    tail = text[start:].strip()
    if tail:
        pieces.append(tail)
    return pieces


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence, trimmed of surrounding whitespace."""
    bounds: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        _append_trimmed(text, start, m.end(), bounds)
        start = m.end()
    _append_trimmed(text, start, len(text), bounds)
    return bounds


def _append_trimmed(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append((start, end))
