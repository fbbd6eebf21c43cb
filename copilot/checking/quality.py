"""Checker quality on a labelled set: precision and recall per category, by overlapping spans."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel, Field

from copilot.checking.checker import Checker
from copilot.checking.context import CheckContext
from copilot.checking.models import CATEGORIES
from copilot.checking.roles import clause_bounds
from copilot.knowledge.policies import Level


class Label(BaseModel):
    category: str
    span: str


class LabelledReply(BaseModel):
    id: str
    lang: str
    reply: str
    labels: list[Label] = Field(default_factory=list)
    complaint: str | None = None
    level: Level = "agent"
    policy: str | None = None
    note: str = ""

    @property
    def context(self) -> CheckContext:
        return CheckContext(complaint=self.complaint, level=self.level, policy=self.policy)

    def spans(self) -> list[tuple[str, int, int]]:
        out = []
        for label in self.labels:
            start = self.reply.find(label.span)
            out.append((label.category, start, start + len(label.span)))
        return out


class Counts(BaseModel):
    predicted: int = 0
    correct: int = 0
    gold: int = 0
    found: int = 0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 1.0


class Mistake(BaseModel):
    id: str
    kind: str  # "false_positive" | "missed"
    category: str
    text: str
    reply: str


class CheckerQuality(BaseModel):
    """Two views of the same run.

    `overall`/`by_*` count (reply, category) units, the set's main unit: a category counts as found when
    the checker flags it on a stretch that overlaps a labelled span of that category, and a flagged
    category with no overlapping label is a false positive. `spans` counts every flagged span and every
    labelled span separately (stricter: a second finding inside one labelled clause is a false positive).
    """

    overall: Counts
    by_category: dict[str, Counts]
    by_language: dict[str, Counts]
    by_language_category: dict[str, dict[str, Counts]]
    spans: Counts
    mistakes: list[Mistake]

    def table(self) -> dict[str, dict[str, float]]:
        rows = {
            "overall": self.overall,
            "spans": self.spans,
            **{f"lang:{k}": v for k, v in self.by_language.items()},
            **self.by_category,
        }
        return {k: {"precision": round(v.precision, 3), "recall": round(v.recall, 3), "gold": v.gold} for k, v in rows.items()}


def load_replies(path: Path) -> list[LabelledReply]:
    return [LabelledReply(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def clause_examples(items: list[LabelledReply]) -> list[dict[str, str]]:
    """Training clauses from labelled replies: each labelled span with its category, and every clause that
    no span touches as compliant (`none`)."""
    out = []
    for item in items:
        spans = [s for s in item.spans() if s[1] >= 0]
        out += [{"text": item.reply[s:e], "lang": item.lang, "category": c, "from": item.id} for c, s, e in spans]
        for start, end in clause_bounds(item.reply, item.lang):
            if any(start < e and s < end for _, s, e in spans):
                continue
            text = item.reply[start:end].strip(" ，,。.！!？?")
            if len(text) >= 4:
                out.append({"text": text, "lang": item.lang, "category": "none", "from": item.id})
    return out


def is_heldout(item_id: str, share: int = 3) -> bool:
    """A fixed pseudo-random 30% of the set, kept for reporting only (never inspected case by case)."""
    return int(hashlib.sha1(item_id.encode()).hexdigest(), 16) % 10 < share


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def evaluate(checker: Checker, items: list[LabelledReply]) -> CheckerQuality:
    overall = Counts()
    spans = Counts()
    by_category: dict[str, Counts] = {c: Counts() for c in CATEGORIES}
    by_language: dict[str, Counts] = defaultdict(Counts)
    by_lc: dict[str, dict[str, Counts]] = defaultdict(lambda: {c: Counts() for c in CATEGORIES})
    mistakes: list[Mistake] = []
    for item in items:
        result = checker.check(item.reply, item.lang, item.context)
        gold = item.spans()
        found = [(v.category, v.start, v.end, v.text) for v in result.violations]
        for category, start, end, _ in found:
            spans.predicted += 1
            spans.correct += any(c == category and _overlap((start, end), (s, e)) for c, s, e in gold)
        for category, s, e in gold:
            spans.gold += 1
            spans.found += any(c == category and _overlap((st, en), (s, e)) for c, st, en, _ in found)
        for category in CATEGORIES:
            gold_here = [(s, e) for c, s, e in gold if c == category]
            found_here = [(st, en, text) for c, st, en, text in found if c == category]
            located = any(_overlap((st, en), g) for st, en, _ in found_here for g in gold_here)
            counters = (overall, by_category[category], by_language[item.lang], by_lc[item.lang][category])
            if found_here:
                for counts in counters:
                    counts.predicted += 1
                    counts.correct += located
                if not located:
                    mistakes.append(Mistake(id=item.id, kind="false_positive", category=category, text=found_here[0][2], reply=item.reply))
            if gold_here:
                for counts in counters:
                    counts.gold += 1
                    counts.found += located
                if not located:
                    s, e = gold_here[0]
                    mistakes.append(Mistake(id=item.id, kind="missed", category=category, text=item.reply[s:e], reply=item.reply))
    return CheckerQuality(
        overall=overall,
        by_category=by_category,
        by_language=dict(by_language),
        by_language_category={k: dict(v) for k, v in by_lc.items()},
        spans=spans,
        mistakes=mistakes,
    )
