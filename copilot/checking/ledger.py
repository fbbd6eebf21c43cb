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

from copilot.checking.policy_check import _APPROVAL, _CLAUSE_BREAK, _COMPENSATION, _ENTITLEMENT, frame_of
from copilot.text.numbers import cn_to_number, find_amounts, find_durations
from copilot.text.sentences import sentence_bounds

CommitmentKind = Literal[
    "callback", "update", "refund", "replacement", "rebooking", "pickup", "visit", "investigation", "resolution",
    "compensation", "escalation",
]
_KIND_OF_FRAME = {
    "callback": "callback", "first_update": "update", "refund": "refund", "replacement": "replacement",
    "rebooking": "rebooking", "pickup": "pickup", "technician_visit": "visit", "investigation": "investigation",
    "resolution": "resolution",
}
# Kinds that answer the same question ("when will I hear from you?") are held to one deadline.
_SAME_PROMISE = {"callback": "contact", "update": "contact"}

# Someone undertakes to do something (checked on the Simplified text for Chinese).
_PROMISE = {
    "zh": re.compile(
        r"(我|我们|他|她|主管|经理|同事|师傅)(这边|这里|会|将|马上|立刻|立即|今天|明天|稍后|一定|先|这就|现在就|再|亲自|负责|答应)"
        r"|(?<![退送寄交还打])(帮|给|为|替)(您|你)|(会|将)(在|于|尽快|马上|立即)|(您|你)(会|将)(在|于)?[^。！？]{0,12}(收到|拿到|到账|接到)"
        r"|(会|将)[^。，！？]{0,4}(到账|送达|寄出|退回|退还|补发|安排)|安排|送您|送上"
    ),
    "en": re.compile(
        r"\b(I|we)('ll| will| am going to|'m going to| are going to|'re going to| shall| have arranged| can offer| would like to offer"
        r"|'m adding| am adding|'m giving| am giving|'m crediting| am crediting|'m sending| am sending)\b"
        r"|\b(he|she|they|[Tt]he [a-z]+|[Yy]our [a-z]+|[Aa]n? [a-z]+)\s+(will|'ll)\b"
        r"|\byou('ll| will| should) (get|receive|have|hear|see)\b"
        r"|\b(it|the refund|your refund|the replacement|the money|a technician|an engineer|the credit|your bag|the bag|your parcel)\b[^.!?]{0,30}\bwill\b"
        r"|\blet me\b",
        re.IGNORECASE,
    ),
}
# ... unless the clause is a condition, a question or a refusal.
_NOT_A_PROMISE = {
    "zh": re.compile(r"如果|假如|要是|万一|不能|无法|没办法|不一定|不确定|吗[？?]?$|[？?]$|之前说|之前答应"),
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
_CLOCK = {
    "zh": re.compile(
        r"(?P<day>今天|今日|今晚|明天|明日|后天)?(?P<part>早上|上午|中午|下午|傍晚|晚上)?\s?"
        r"(?P<h>\d{1,2}|[一二两三四五六七八九十]{1,3})\s?[点點:：](?P<m>半|\d{1,2}分?|[一二三四五]十分?)?"
    ),
    "en": re.compile(
        r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s?(?P<ampm>am|pm|a\.m\.|p\.m\.)(?:\s+(?P<day>today|tomorrow|tonight))?"
        r"|\bnoon\b(?:\s+(?P<day2>today|tomorrow))?",
        re.IGNORECASE,
    ),
}
_TOMORROW = {"zh": re.compile(r"明天|明日|隔天"), "en": re.compile(r"\btomorrow\b", re.IGNORECASE)}


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
    from copilot.checking.checker import normalise_for_matching

    return text if language == "en" else normalise_for_matching(text)


def _clauses(sentence: str) -> list[tuple[int, int]]:
    bounds, cursor = [], 0
    for m in _CLAUSE_BREAK.finditer(sentence):
        if m.start() > cursor:
            bounds.append((cursor, m.start()))
        cursor = m.end()
    if cursor < len(sentence):
        bounds.append((cursor, len(sentence)))
    return bounds


def clock_due(text: str, language: str, at: datetime) -> datetime | None:
    """A clock time in the text ("by 5 pm", "下午五點前", "明天上午10點") as a moment after `at`."""
    key = _key(language)
    m = _CLOCK[key].search(text)
    if m is None:
        return None
    if key == "en":
        if m.group("h") is None:  # noon
            hour, minute, day = 12, 0, (m.group("day2") or "").lower()
        else:
            hour, minute = int(m.group("h")), int(m.group("m") or 0)
            if m.group("ampm").lower().startswith("p") and hour < 12:
                hour += 12
            elif m.group("ampm").lower().startswith("a") and hour == 12:
                hour = 0
            day = (m.group("day") or "").lower()
    else:
        raw = m.group("h")
        hour_value = int(raw) if raw.isdigit() else cn_to_number(raw)
        if hour_value is None:
            return None
        hour = int(hour_value)
        minute_raw = (m.group("m") or "").rstrip("分")
        minute = 30 if minute_raw == "半" else int(minute_raw) if minute_raw.isdigit() else int(cn_to_number(minute_raw) or 0)
        part = m.group("part") or ""
        if (part in ("下午", "傍晚", "晚上") and hour < 12) or (part == "中午" and hour < 11):
            hour += 12
        day = {"明天": "tomorrow", "明日": "tomorrow", "后天": "after"}.get(m.group("day") or "", "")
    if hour > 23 or minute > 59:
        return None
    if not day and _TOMORROW[key].search(text):
        day = "tomorrow"
    due = at.replace(hour=hour, minute=minute, second=0, microsecond=0)
    due += timedelta(days={"tomorrow": 1, "after": 2}.get(day, 0))
    if due <= at and not day:
        due += timedelta(days=1)  # "by 10 am" said in the afternoon means tomorrow
    return due


def extract_commitments(text: str, language: str, at: datetime | None = None, turn: int | None = None) -> list[Commitment]:
    """The promises in one agent text, in order."""
    key = _key(language)
    norm = _normalise(text, language)
    found: list[Commitment] = []
    for s_start, s_end in sentence_bounds(norm):
        sentence = norm[s_start:s_end]
        pending_time: tuple[int, int] | None = None  # a time said in a clause before the promise it belongs to
        for c_start, c_end in _clauses(sentence):
            clause, previous = sentence[c_start:c_end], sentence[max(0, c_start - 40) : c_start]
            if _CONDITION[key].search(previous.split("。")[-1]):
                continue
            durations = find_durations(clause, language)
            clock = _CLOCK[key].search(clause)
            timed = bool(durations or clock)
            kind = _kind_of(clause, key, language)
            if kind is None or not _PROMISE[key].search(clause) or _NOT_A_PROMISE[key].search(clause.strip()):
                if timed and kind is None:
                    pending_time = (c_start, c_end)
                continue
            time_source = clause
            start, end = s_start + c_start, s_start + c_end
            if not timed and pending_time is not None:
                time_source = sentence[pending_time[0] : pending_time[1]]
                start = s_start + pending_time[0]
            pending_time = None
            found.append(_commitment(kind, text, norm, start, end, time_source, language, at, turn))
    return found


def _kind_of(clause: str, key: str, language: str) -> CommitmentKind | None:
    if _SENIOR[key].search(clause) and (_APPROVAL[key].search(clause) or _TRANSFER[key].search(clause)):
        return "escalation"
    if _COMPENSATION[key].search(clause) and find_amounts(clause) and not _ENTITLEMENT[key].search(clause):
        return "compensation"
    frame = frame_of(clause, language)
    return _KIND_OF_FRAME.get(frame) if frame else None  # type: ignore[return-value]


def _commitment(
    kind: CommitmentKind, text: str, norm: str, start: int, end: int, time_source: str, language: str,
    at: datetime | None, turn: int | None,
) -> Commitment:
    key = _key(language)
    hours = due = deadline_text = amount = None
    clock = _CLOCK[key].search(time_source)
    durations = find_durations(time_source, language)
    if clock is not None:
        deadline_text = _original(text, norm, time_source, clock.start(), clock.end())
        if at is not None:
            due = clock_due(time_source, language, at)
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


def describe_due(due: datetime, now: datetime, language: str) -> str:
    """A due time restated for `now`, in words that read back to the same time ("by 5 pm today")."""
    days = (due.date() - now.date()).days
    if language == "en":
        clock = due.strftime("%I:%M %p").lstrip("0").replace(":00", "").lower().replace("12 pm", "noon")
        day = "today" if days == 0 else "tomorrow" if days == 1 else due.strftime("on %d %B").replace(" 0", " ")
        return f"by {clock} {day}" if clock != "noon" else f"by noon {day}"
    part = "上午" if due.hour < 12 else "中午" if due.hour == 12 else "下午" if due.hour < 18 else "晚上"
    hour = due.hour if due.hour <= 12 else due.hour - 12
    point = "點" if language == "zh-Hant" else "点"
    clock = f"{part}{hour}{point}" + (f"{due.minute}分" if due.minute else "")
    day = {0: "今天", 1: "明天"}.get(days) or f"{due.month}月{due.day}日"
    return f"{day}{clock}前"


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
    due = clock_due(sentence, language, now) if _CLOCK[_key(language)].search(sentence) else None
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
