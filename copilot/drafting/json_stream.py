"""Reading the three drafts out of a JSON answer while it is still arriving.

The LLM answers one JSON object, {"empathetic_reply": {"text": ...}, "expectation_lowering": ...,
"compensation": ...}, streamed token by token or in one piece. `DraftTextStream.feed` takes each new
piece and returns the new characters of each draft's "text" so far, decoded, so the agent sees the drafts
being written; the finished answer is then validated as a whole.
"""

from __future__ import annotations

import json
import re

_OPENING = {
    kind: re.compile(rf'"{kind}"\s*:\s*\{{[^{{}}]*?"text"\s*:\s*"')
    for kind in ("empathetic_reply", "expectation_lowering", "compensation")
}
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _decode_prefix(raw: str, start: int) -> tuple[str, bool]:
    """The JSON string content from `start` as far as it has arrived; True when its closing quote is in."""
    out: list[str] = []
    i = start
    while i < len(raw):
        c = raw[i]
        if c == '"':
            return "".join(out), True
        if c == "\\":
            if i + 1 >= len(raw):
                break  # the escape is cut off: wait for the next piece
            e = raw[i + 1]
            if e == "u":
                if i + 6 > len(raw):
                    break
                try:
                    out.append(chr(int(raw[i + 2 : i + 6], 16)))
                except ValueError:
                    out.append(raw[i : i + 6])
                i += 6
                continue
            out.append(_ESCAPES.get(e, e))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out), False


class DraftTextStream:
    """Accumulates a streamed JSON answer and reports each draft's new text."""

    def __init__(self) -> None:
        self.raw = ""
        self.texts: dict[str, str] = {}
        self.closed: set[str] = set()

    def feed(self, piece: str) -> list[tuple[str, str]]:
        """(kind, new characters) for every draft whose text grew with this piece, in answer order."""
        self.raw += piece
        grown = []
        for kind, opening in _OPENING.items():
            if kind in self.closed:
                continue
            m = opening.search(self.raw)
            if m is None:
                continue
            text, done = _decode_prefix(self.raw, m.end())
            before = self.texts.get(kind, "")
            if len(text) > len(before) and text.startswith(before):
                grown.append((m.start(), kind, text[len(before) :]))
            self.texts[kind] = text
            if done:
                self.closed.add(kind)
        return [(kind, new) for _, kind, new in sorted(grown)]

    def whole(self) -> str:
        return self.raw


def is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False
