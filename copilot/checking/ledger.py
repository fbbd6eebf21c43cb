"""The commitments ledger: the promises an agent has already made in a conversation, read from their turns,
and the checks that keep a new text consistent with them (one deadline per promise, one amount per offer,
no apology three turns in a row).

A commitment is a clause in which the agent (or "it", the refund, the parcel) undertakes something: a
call-back, a refund, a replacement, compensation, a request to a supervisor. Its kind comes from the same
time-frame words the policy check uses; its due time from a clock time ("by 5 pm", "下午五點前") or a
duration ("within 2 hours", "3個工作天") counted from when the turn was sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from copilot.checking.policy_check import APPROVAL_WORDS, COMPENSATION_WORDS, ENTITLEMENT_WORDS, frame_of
from copilot.text.matching import normalise_for_matching
from copilot.text.numbers import find_amounts, find_durations
from copilot.text.sentences import sentence_bounds
from copilot.text.times import CLOCK, DATE, describe_due, due_from

CommitmentKind = Literal[
    "callback", "update", "refund", "replacement", "rebooking", "pickup", "visit", "investigation", "resolution",
    "compensation", "escalation",
]
_KIND_OF_FRAME: dict[str, CommitmentKind] = {
    "callback": "callback", "first_update": "update", "refund": "refund", "replacement": "replacement",
    "rebooking": "rebooking", "pickup": "pickup", "technician_visit": "visit", "investigation": "investigation",
    "resolution": "resolution",
}
# Kinds that answer the same question ("when will I hear from you?") are held to one deadline.
_SAME_PROMISE = {"callback": "contact", "update": "contact"}

# Someone undertakes to do something (checked on the Simplified text for Chinese).
_PROMISE = {
    "zh": re.compile(
        r"(我|我们|我哋|他|她|佢|主管|经理|同事|师傅)(会|将|马上|立刻|立即|今天|明天|稍后|一定|先|这就|现在就|再|亲自|负责|答应|哋会)"
        r"|(?<![退送寄交还打])(帮|给|为|替|俾|畀)(您|你)|(?<![不])(会|将)(?!不)|(您|你)[^。！？]{0,12}(收到|拿到|到账|接到)"
        r"|安排|送您|送上|(会|会喺)"
    ),
    "en": re.compile(
        r"\bwill\b(?! not)|'ll\b|\b(am|'m|are|'re) going to\b|\bshall\b|\blet me\b"
        r"|\b(is|are|has been|have been) (booked|confirmed|scheduled|arranged|due|on (its|their) way)\b|\bexpected to\b"
        r"|\bI(?:'m| am) (adding|giving|crediting|sending|booking|arranging)\b|\bcan offer\b|\bwould like to offer\b",
        re.IGNORECASE,
    ),
}
# Compensation already given counts too ("I've added a CNY 20 credit"): the ledger records what was offered.
_GIVEN = {
    "zh": re.compile(r"(放|加|充|送|补|存|发)(了|进|入|到)|已经(帮|给|为|替)?(您|你)"),
    "en": re.compile(r"\bI(?:'ve| have) (applied|added|credited|given|put|sent|issued)\b", re.IGNORECASE),
}
# ... unless the clause is a condition, a question or a refusal.
_NOT_A_PROMISE = {
    "zh": re.compile(r"如果|假如|要是|万一|不能|无法|没办法|不一定|不确定|吗[？?]?$|[？?]$|之前说|之前答应|没有|没再|已经"),
    "en": re.compile(r"\bif\b|\bunless\b|can't|cannot|won't|not able|unable|\?$|\bpromised\b|\bsaid\b", re.IGNORECASE),
}
_CONDITION = {
    "zh": re.compile(r"如果|假如|要是|万一|若是"),
    "en": re.compile(r"\b(if|unless|in case)\b", re.IGNORECASE),
}
_SENIOR = {"zh": re.compile(r"主管|经理|上级|领导"), "en": re.compile(r"\b(supervisor|manager|team lead)\b", re.IGNORECASE)}
_TRANSFER = {
    "zh": re.compile(r"(请|让|转给|转接|交给|找|联系)(我的|我们的)?(值班的?)?(主管|经理|上级)(来)?|(主管|经理)(会|将)?(亲自)?(联系|回电|致电|跟您|和您|接手)"),
    "en": re.compile(r"\b(supervisor|manager|team lead)\b", re.IGNORECASE),
}


class Commitment(BaseModel):
    """One promise the agent made, anchored to the words that make it."""

    kind: CommitmentKind
    text: str = Field(description="The clause that carries the promise, as written.")
    turn: int | None = Field(None, description="Index of the conversation turn it was made in.")
    start: int = 0
    end: int = 0
    at: datetime | None = Field(None, description="When it was made.")
    hours: float | None = Field(None, description="The time promised, in hours from when it was made.")
    due: datetime | None = None
    deadline_text: str | None = Field(None, description="The time as the agent said it.")
    amount: float | None = None


class Ledger(BaseModel):
    """What the agent has already committed to, and how many agent turns in a row apologised."""

    commitments: list[Commitment] = Field(default_factory=list)
    apologies_in_a_row: int = 0
    agent_turns: int = Field(0, description="Agent turns so far: after the first, a reply continues a conversation.")
    now: datetime | None = Field(None, description="When the text being checked would be sent.")

    def current(self, kind: str) -> Commitment | None:
        """The latest promise of this kind with a time (for compensation: with an amount)."""
        group = _SAME_PROMISE.get(kind, kind)
        for c in reversed(self.commitments):
            if _SAME_PROMISE.get(c.kind, c.kind) != group:
                continue
            if (c.amount is not None) if kind == "compensation" else (c.due is not None):
                return c
        return None


@dataclass(frozen=True)
class LedgerBreach:
    kind: str  # "conflicting_deadline" | "conflicting_amount" | "repeated_apology"
    start: int
    end: int
    limit_text: str
    detail: dict[str, str]


def _key(language: str) -> str:
    return "en" if language == "en" else "zh"


def _normalise(text: str, language: str) -> str:
    return text if language == "en" else normalise_for_matching(text)


# Clause breaks as in the policy check, except a colon inside a clock time ("19:30").
_CLAUSE = re.compile(r"[，,；;]|(?<!\d)[：:]|[：:](?!\d)|\band\b|\bbut\b|而且|并且|然后|同时|另外")


def _clauses(sentence: str) -> list[tuple[int, int]]:
    bounds, cursor = [], 0
    for m in _CLAUSE.finditer(sentence):
        if m.start() > cursor:
            bounds.append((cursor, m.start()))
        cursor = m.end()
    if cursor < len(sentence):
        bounds.append((cursor, len(sentence)))
    return bounds


def extract_commitments(text: str, language: str, at: datetime | None = None, turn: int | None = None) -> list[Commitment]:
    """The promises in one agent text, in order."""
    key = _key(language)
    norm = _normalise(text, language)
    found: list[Commitment] = []
    for s_start, s_end in sentence_bounds(norm):
        sentence = norm[s_start:s_end]
        clauses = []
        for c_start, c_end in _clauses(sentence):
            clause = sentence[c_start:c_end]
            if _CONDITION[key].search(sentence[max(0, c_start - 40) : c_start]):
                break  # what follows "if ..." in this sentence is conditional
            clauses.append((c_start, c_end, clause, _kind_of(clause, key, language),
                            bool(find_durations(clause, language) or CLOCK[key].search(clause) or DATE[key].search(clause))))
        promising = False  # Chinese drops the subject after the first clause: "我會查清楚，2天內告訴您"
        for i, (c_start, c_end, clause, kind, timed) in enumerate(clauses):
            if kind == "compensation" and _GIVEN[key].search(clause):
                promising = True
            elif _NOT_A_PROMISE[key].search(clause.strip()):
                promising = False
                continue
            else:
                promising = bool(_PROMISE[key].search(clause)) or (promising and key == "zh")
            if kind is None or not promising:
                continue
            time_source, start = clause, s_start + c_start
            if not timed:
                before = clauses[i - 1] if i else None
                after = clauses[i + 1] if i + 1 < len(clauses) else None
                if before and before[4] and before[3] is None and _opens_with_time(before[2], key, language):
                    time_source, start = before[2], s_start + before[0]  # "今天下午五點前，我會回電給您"
                elif after and after[4] and after[3] is None:
                    time_source = after[2]  # "I'll look into it, within 2 days"
            promise = _commitment(kind, text, norm, start, s_start + c_end, time_source, language, at, turn)
            previous = found[-1] if found and found[-1].start >= s_start else None
            if previous is not None and _SAME_PROMISE.get(previous.kind, previous.kind) == _SAME_PROMISE.get(kind, kind):
                # one promise said in two clauses ("I'll call you by 5, and tell you everything")
                if previous.due is None and promise.due is not None:
                    found[-1] = promise
                continue
            found.append(promise)
    return found


def _opens_with_time(clause: str, key: str, language: str) -> bool:
    """A clause that is only a time said ahead of its promise: "今天下午五點前，我會回電給您"."""
    stripped = clause.strip()
    first = [d.start for d in find_durations(stripped, language)] + [m.start() for m in CLOCK[key].finditer(stripped)]
    return bool(first) and min(first) <= 3 and len(stripped) <= 16


def _kind_of(clause: str, key: str, language: str) -> CommitmentKind | None:
    if _SENIOR[key].search(clause) and (APPROVAL_WORDS[key].search(clause) or _TRANSFER[key].search(clause)):
        return "escalation"
    if COMPENSATION_WORDS[key].search(clause) and find_amounts(clause) and not ENTITLEMENT_WORDS[key].search(clause):
        return "compensation"
    frame = frame_of(clause, language)
    return _KIND_OF_FRAME.get(frame) if frame else None


def _commitment(
    kind: CommitmentKind, text: str, norm: str, start: int, end: int, time_source: str, language: str,
    at: datetime | None, turn: int | None,
) -> Commitment:
    key = _key(language)
    hours = due = deadline_text = amount = None
    named = [m.span() for m in CLOCK[key].finditer(time_source)] + [m.span() for m in DATE[key].finditer(time_source)]
    durations = find_durations(time_source, language)
    if named:
        deadline_text = _original(text, norm, time_source, min(s for s, _ in named), max(e for _, e in named))
        if at is not None:
            due = due_from(time_source, language, at)
            hours = round((due - at).total_seconds() / 3600, 1) if due else None
    elif durations and not durations[-1].immediate:  # "我現在就幫您查" starts the work; it sets no deadline
        d = durations[-1]
        deadline_text = _original(text, norm, time_source, d.start, d.end)
        hours = d.hours
        due = at + timedelta(hours=d.hours) if at is not None else None
    if kind in ("compensation", "escalation"):
        amounts = find_amounts(norm[start:end])
        amount = amounts[0].value if amounts else None
    return Commitment(
        kind=kind, text=text[start:end].strip(), turn=turn, start=start, end=end, at=at, hours=hours, due=due,
        deadline_text=deadline_text, amount=amount,
    )


def _original(text: str, norm: str, source: str, start: int, end: int) -> str:
    """The original-script words for a span found in a (normalised) piece of text."""
    offset = norm.find(source)
    return text[offset + start : offset + end] if offset >= 0 else source[start:end]


# ------------------------------------------------------------------------------------------ consistency


def ledger_breaches(text: str, language: str, ledger: Ledger, apology_span: tuple[int, int] | None) -> list[LedgerBreach]:
    """Where `text` contradicts the ledger: a second, different deadline; a different amount; a third apology."""
    now = ledger.now or datetime.now().astimezone()
    breaches: list[LedgerBreach] = []
    for new in extract_commitments(text, language, at=now):
        old = ledger.current(new.kind)
        if old is None or (old.turn is None and old.at is None):
            continue
        if new.kind == "compensation" and new.amount is not None and old.amount is not None and new.amount != old.amount:
            span = _amount_span(text, language, new)
            breaches.append(LedgerBreach("conflicting_amount", *span, _money(old.amount, language), {
                "promised": _money(old.amount, language), "quote": old.text, "turn": _turn_label(old)}))
        elif new.kind != "compensation" and new.due is not None and old.due is not None:
            gap = abs((new.due - old.due).total_seconds()) / 3600
            tolerance = max(2.0, 0.25 * max(new.hours or 0, old.hours or 0))
            if gap > tolerance:
                promised = describe_due(old.due, now, language)
                span = _deadline_span(text, language, new)
                breaches.append(LedgerBreach("conflicting_deadline", *span, promised, {
                    "promised": promised, "quote": old.text, "turn": _turn_label(old)}))
    if ledger.apologies_in_a_row >= 2 and apology_span is not None:
        breaches.append(LedgerBreach("repeated_apology", *apology_span, "", {"count": str(ledger.apologies_in_a_row)}))
    return breaches


def matches_ledger(ledger: Ledger | None, text: str, language: str, start: int, end: int) -> bool:
    """True when the time at text[start:end] restates one already promised (any kind, within two hours)."""
    if ledger is None or not ledger.commitments:
        return False
    now = ledger.now or datetime.now().astimezone()
    norm = _normalise(text, language)
    sentence = next((norm[s:e] for s, e in sentence_bounds(norm) if s <= start < e), norm)
    due = due_from(sentence, language, now)
    if due is None:
        durations = find_durations(norm[start:end], language)
        due = now + timedelta(hours=durations[0].hours) if durations else None
    if due is None:
        return False
    return any(c.due is not None and abs((c.due - due).total_seconds()) <= 2 * 3600 for c in ledger.commitments)


_LEAD_IN = re.compile(r"(?:within|in|by|before|no later than)\s+$", re.IGNORECASE)
_TRAIL = re.compile(r"^(?:之內|之内|以內|以内|內|内|前|之前|以前)")


def _deadline_span(text: str, language: str, c: Commitment) -> tuple[int, int]:
    """The words of the time, with "within"/"內" around them, so a replacement reads whole."""
    if not c.deadline_text:
        return c.start, c.end
    start = text.find(c.deadline_text, c.start)
    if start < 0:
        return c.start, c.end
    end = start + len(c.deadline_text)
    if language == "en":
        lead = _LEAD_IN.search(text[max(0, start - 16) : start])
        start -= len(lead.group(0)) if lead else 0
    else:
        trail = _TRAIL.match(text[end:])
        end += len(trail.group(0)) if trail else 0
    return start, end


def _amount_span(text: str, language: str, c: Commitment) -> tuple[int, int]:
    amounts = find_amounts(_normalise(text, language)[c.start : c.end])
    if amounts:
        return c.start + amounts[0].start, c.start + amounts[0].end
    return c.start, c.end


def _money(amount: float, language: str) -> str:
    return f"CNY {amount:g}" if language == "en" else f"{amount:g} 元"


def _turn_label(c: Commitment) -> str:
    return str(c.turn + 1) if c.turn is not None else "?"
