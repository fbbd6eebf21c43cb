"""Drafts as they are written: text deltas, and the checker's findings on each sentence as it completes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal

from pydantic import BaseModel, Field

from copilot.checking.models import CheckResult, Violation
from copilot.drafting.models import Draft, DraftKind, Suggestion
from copilot.text.sentences import sentence_bounds


class StreamEvent(BaseModel):
    """One event of a suggestion being drafted (a server-sent event on the wire)."""

    type: Literal["start", "delta", "check", "draft", "notice", "done"]
    kind: DraftKind | None = None
    delta: str | None = Field(None, description="delta: the new characters.")
    text: str | None = Field(None, description="delta/check: the draft so far.")
    violations: list[Violation] = Field(default_factory=list, description="check: findings in the finished sentences.")
    draft: Draft | None = Field(None, description="draft: the finished, checked (and if need be fixed) draft.")
    suggestion: Suggestion | None = Field(None, description="done: the whole suggestion, as /suggest returns it.")
    message: str | None = None


class SentenceChecker:
    """Relays one draft's pieces as delta events and, each time a sentence is complete, checks the text up
    to it and reports what it found."""

    def __init__(self, kind: DraftKind, check: Callable[[str], CheckResult]) -> None:
        self.kind = kind
        self.check = check
        self.text = ""
        self._checked_upto = 0

    def feed(self, piece: str) -> list[StreamEvent]:
        if not piece:
            return []
        self.text += piece
        events = [StreamEvent(type="delta", kind=self.kind, delta=piece, text=self.text)]
        bounds = sentence_bounds(self.text)
        # a sentence is complete when another one has started after it
        complete = bounds[-2][1] if len(bounds) >= 2 else 0
        if complete > self._checked_upto and self.text[:complete].strip():
            self._checked_upto = complete
            events.append(StreamEvent(type="check", kind=self.kind, text=self.text[:complete],
                                      violations=self.check(self.text[:complete]).violations))
        return events

    def finish(self) -> list[StreamEvent]:
        if self.text.strip() and self._checked_upto < len(self.text.rstrip()):
            self._checked_upto = len(self.text)
            return [StreamEvent(type="check", kind=self.kind, text=self.text, violations=self.check(self.text).violations)]
        return []


def sentence_pieces(text: str) -> Iterator[str]:
    """A finished text replayed sentence by sentence (the composer has no tokens to stream)."""
    cursor = 0
    for _, end in sentence_bounds(text):
        yield text[cursor:end]
        cursor = end
    if cursor < len(text):
        yield text[cursor:]
