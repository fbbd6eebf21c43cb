"""Drafts as they are written: token deltas, and the checker's findings on each sentence as it completes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal

from pydantic import BaseModel, Field

from copilot.checking.models import CheckResult, Violation
from copilot.drafting.models import Draft, DraftKind, Suggestion
from copilot.text.sentences import sentence_bounds


class StreamEvent(BaseModel):
    """One server-sent event of a streamed suggestion."""

    type: Literal["start", "delta", "check", "draft", "notice", "done"]
    kind: DraftKind | None = None
    delta: str | None = Field(None, description="delta: the new characters.")
    text: str | None = Field(None, description="delta/check: the draft so far.")
    violations: list[Violation] = Field(default_factory=list, description="check: findings in the finished sentences.")
    draft: Draft | None = Field(None, description="draft: the finished, checked (and if need be fixed) draft.")
    suggestion: Suggestion | None = Field(None, description="done: the whole suggestion, as /suggest returns it.")
    message: str | None = None


def checked_stream(
    kind: DraftKind, pieces: Iterator[str], check: Callable[[str], CheckResult]
) -> Iterator[StreamEvent | str]:
    """Relay `pieces` as delta events; each time a sentence is complete, check the text up to it and report.

    Yields the events, then (last) the whole text as a plain string."""
    text = ""
    checked_upto = 0
    for piece in pieces:
        if not piece:
            continue
        text += piece
        yield StreamEvent(type="delta", kind=kind, delta=piece, text=text)
        bounds = sentence_bounds(text)
        # a sentence is complete when another one has started after it
        complete = bounds[-2][1] if len(bounds) >= 2 else 0
        if complete > checked_upto and text[:complete].strip():
            checked_upto = complete
            result = check(text[:complete])
            yield StreamEvent(type="check", kind=kind, text=text[:complete], violations=result.violations)
    if text.strip() and checked_upto < len(text.rstrip()):
        result = check(text)
        yield StreamEvent(type="check", kind=kind, text=text, violations=result.violations)
    yield text


def sentence_pieces(text: str) -> Iterator[str]:
    """A finished text replayed sentence by sentence (the composer has no tokens to stream)."""
    cursor = 0
    for _, end in sentence_bounds(text):
        yield text[cursor:end]
        cursor = end
    if cursor < len(text):
        yield text[cursor:]
