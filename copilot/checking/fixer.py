"""Deterministic rewrite: replace or remove each flagged span using the phrasebook, re-check until clean."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from copilot.checking.checker import Checker
from copilot.checking.context import NO_CONTEXT, CheckContext
from copilot.checking.models import CheckResult, Violation
from copilot.checking.rules import Rule
from copilot.knowledge.phrasebook import Phrasebook
from copilot.knowledge.policies import PolicyCategory
from copilot.text.sentences import sentence_bounds

MAX_ROUNDS = 3

# What a fix must keep unless it is itself the problem: times and amounts (a range whole), questions to the
# customer, menu paths.
_RANGE = (r"\d+(?:\.\d+)?\s*(?:-|–|~|～|到|至|to)\s*\d+(?:\.\d+)?\s*"
          r"(?:個|个)?\s*(?:小時|小时|鐘頭|钟头|分鐘|分钟|工作天|工作日|個工作天|个工作日|天|日|週|周|hours?|days?|business days|working days|minutes?|weeks?)")
_SUBSTANCE = re.compile(
    _RANGE
    + r"|\d+(?:[.:]\d+)?\s*(?:個|个)?\s*(?:小時|小时|分鐘|分钟|工作天|工作日|天|日|點|点|元|塊|块|港幣|hours?|days?|minutes?|am|pm|%)"
    + r"|[$¥€£]\s?\d[\d,.]*|(?:NT\$|HK\$|CNY|USD|RMB)\s?\d[\d,.]*"
    + r"|[^\s，。,.!?！？>＞→]{1,12}\s*(?:>|＞|→)\s*[^\s，。,.!?！？]{1,12}(?:\s*(?:>|＞|→)\s*[^\s，。,.!?！？]{1,12})*",
    re.IGNORECASE,
)
_RANGE_RE = re.compile(_RANGE, re.IGNORECASE)


class Change(BaseModel):
    rule_id: str
    before: str
    after: str


class FixResult(BaseModel):
    text: str
    original: str
    changes: list[Change] = Field(default_factory=list)
    rounds: int = 0
    check: CheckResult


# Rules whose repair is to put the violation's `limit` (the time or amount that holds) in place of the span.
_USE_LIMIT = {"overpromise.policy_deadline", "ledger.conflicting_deadline", "ledger.conflicting_amount"}


class Fixer:
    def __init__(self, checker: Checker, phrasebook: Phrasebook) -> None:
        self.checker = checker
        self.phrasebook = phrasebook
        self._rules: dict[str, Rule] = {r.id: r for r in checker.catalogue.rules}
        self.policy: PolicyCategory | None = None
        self._current = ""

    def fix(
        self,
        text: str,
        language: str | None = None,
        context: CheckContext = NO_CONTEXT,
        *,
        slots: dict[str, str] | None = None,
    ) -> FixResult:
        policy = context.policy
        self.policy = self.checker.policies.category(policy) if isinstance(policy, str) else policy
        result = first = self.checker.check(text, language, context)
        lang = result.language
        changes: list[Change] = []
        current = text
        rounds = 0
        while result.violations and rounds < MAX_ROUNDS:
            rounds += 1
            current, made = self._rewrite(current, lang, result.violations, slots or {}, last=rounds == MAX_ROUNDS)
            changes.extend(made)
            result = self.checker.check(current, lang, context) if current.strip() else result
            if not current.strip():
                break
        if not current.strip() or result.violations:
            current = self._drop_offending(current, result.violations) if current.strip() else ""
            if not current.strip():
                current = self._fallback(lang)
            result = self.checker.check(current, lang, context)
        lost = [piece for piece in _substance(text, first.violations) if piece not in current]
        if lost:
            # no safe fix: the text stays as the agent or the LLM wrote it, with its findings shown
            kept = first.model_copy(update={"notices": [*first.notices, "no safe fix: rewriting would lose "
                                                        + ", ".join(f"'{p}'" for p in lost) + "; the text is left as it was"]})
            return FixResult(text=text, original=text, changes=[], rounds=rounds, check=kept)
        return FixResult(text=current, original=text, changes=changes, rounds=rounds, check=result)

    # ---------------------------------------------------------------- internals

    def _rewrite(
        self, text: str, lang: str, violations: list[Violation], slots: dict[str, str], last: bool
    ) -> tuple[str, list[Change]]:
        self._current = text
        sentences = _clause_bounds(text)
        by_sentence: dict[tuple[int, int], list[Violation]] = {}
        for v in violations:
            bounds = next(((s, e) for s, e in sentences if s <= v.start < e), (v.start, v.end))
            by_sentence.setdefault(bounds, []).append(v)
        used = set()
        changes: list[Change] = []
        for (start, end), found in sorted(by_sentence.items(), reverse=True):
            sentence = text[start:end]
            replacement = self._replacement(sentence, start, lang, found, slots, used, last)
            used.add(replacement)
            # a phrase replacing a clause inside a sentence gives up its own end punctuation
            if replacement and end < len(text) and text[end] in "，,；;、":
                replacement = replacement.rstrip("。！？.!?")
            if replacement and start > 0 and text[start - 1] in ",;" and replacement[:2] != "I ":
                replacement = replacement[0].lower() + replacement[1:]
            changes.append(Change(rule_id=",".join(v.rule_id for v in found), before=sentence, after=replacement))
            text = text[:start] + replacement + text[end:]
        return _tidy(text), changes

    def _replacement(
        self, sentence: str, offset: int, lang: str, found: list[Violation], slots: dict[str, str], used: set[str], last: bool
    ) -> str:
        # Local repairs keep the agent's sentence: plain words for jargon, a supported time frame for a deadline.
        if not last and all(v.rule_id in _USE_LIMIT or self._plain_word(v, lang) for v in found):
            repaired = sentence
            for v in sorted(found, key=lambda v: v.start, reverse=True):
                new = v.limit if v.rule_id in _USE_LIMIT else self._plain_word(v, lang)
                start, end = _whole_range(sentence, offset, v) if v.rule_id in _USE_LIMIT else (v.start, v.end)
                tail = repaired[end - offset :]
                if new and new.endswith(("內", "内")):
                    tail = tail.removeprefix("之").removeprefix("以").removeprefix("內").removeprefix("内")
                head = repaired[: start - offset]
                if new and re.match(r"(within|by|in)\b", new, re.IGNORECASE):
                    head = re.sub(r"\b(in|within|by)\s+$", "", head, flags=re.IGNORECASE)  # "in within 48 hours"
                repaired = head + (new or "") + tail
            return repaired
        rule = self._rules.get(found[0].rule_id) or self.checker.category_rule[found[0].category]
        move = rule.fix.move
        if move is None:
            return ""
        fill = dict(slots)
        if found[0].rule_id == "overpromise.policy_amount":
            fill.setdefault("approver", {"en": "my supervisor", "zh-Hans": "主管", "zh-Hant": "主管"}[lang])
            if self.policy is not None and "deadline" not in fill:
                frame = self.policy.time_frames.get("callback") or self.policy.time_frames.get("first_update")
                if frame is not None:
                    fill["deadline"] = frame.describe(lang)
        for variant in range(12):
            phrase = self.phrasebook.fill(lang, move, fill, variant=variant)
            if phrase is None:
                break
            if phrase not in used and phrase.rstrip("。！？.!?") not in self._current:
                return phrase
        return ""

    def _plain_word(self, v: Violation, lang: str) -> str | None:
        rule = self._rules.get(v.rule_id)
        if rule is None or v.category != "jargon":
            return None
        mapping = rule.fix.replace
        return mapping.get(v.text) or mapping.get(v.text.lower())

    @staticmethod
    def _drop_offending(text: str, violations: list[Violation]) -> str:
        sentences = sentence_bounds(text)
        bad = {(s, e) for v in violations for s, e in sentences if s <= v.start < e}
        for start, end in sorted(bad, reverse=True):
            text = text[:start] + text[end:]
        return _tidy(text)

    def _fallback(self, lang: str) -> str:
        parts = [self.phrasebook.fill(lang, move) for move in ("acknowledge", "apologise", "own")]
        joiner = " " if lang == "en" else ""
        return joiner.join(p for p in parts if p)


def _substance(text: str, violations: list[Violation]) -> list[str]:
    """Times, amounts, questions and menu paths of `text` outside every clause a finding sits in: a fix must
    keep them (inside such a clause they are part of what is wrong: the guaranteed amount, the rule's 48 hours)."""
    clauses = _clause_bounds(text)
    touched = [(s, e) for s, e in clauses if any(v.start < e and s < v.end for v in violations)]
    pieces = [(m.start(), m.end()) for m in _SUBSTANCE.finditer(text)]
    pieces += [(s, e) for s, e in sentence_bounds(text) if text[s:e].rstrip().endswith(("?", "？"))]
    return [text[s:e].strip() for s, e in pieces if not any(cs < e and s < ce for cs, ce in touched)]


def _whole_range(sentence: str, offset: int, v: Violation) -> tuple[int, int]:
    """A deadline inside a range ("2-3小时", "2 to 3 hours") is replaced with the range, not half of it."""
    for m in _RANGE_RE.finditer(sentence):
        start, end = m.start() + offset, m.end() + offset
        if start < v.end and v.start < end:
            return min(start, v.start), max(end, v.end)
    return v.start, v.end


def _clause_bounds(text: str) -> list[tuple[int, int]]:
    """Clauses inside sentences (split at Chinese and English commas and semicolons)."""
    out: list[tuple[int, int]] = []
    for start, end in sentence_bounds(text):
        cursor = start
        for i in range(start, end):
            if text[i] in "，,；;" and i > cursor:
                out.append((cursor, i))
                cursor = i + 1
        if cursor < end:
            out.append((cursor, end))
    return out


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r",(?=[A-Za-z])", ", ", text)
    text = re.sub(r"^[，,、；;\s]+", "", text)
    text = re.sub(r"([。！？!?])[，,、]+", r"\1", text)
    return text.strip()
