"""LLM adjudication: with an LLM configured, one call per checked text confirms or rejects the rules'
findings and adds the ones they missed, with exact spans.

The LLM sees the text with personal data masked. What it says is held to the text: an added finding must
name words that are in it and one of the nine categories, or it is dropped with a notice. Confirmed findings
are shown, rejected ones go to "worth a second look", and any failure (an error, a timeout, malformed output)
leaves the rules' findings as they were, with a notice. Policy and ledger findings are arithmetic against the
policy and the promises made: they are not put to the LLM.
"""

from __future__ import annotations

import json
from typing import Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from copilot.checking.calibration import Calibration
from copilot.checking.models import CheckResult, Violation, verdict_of
from copilot.checking.rules import Rule
from copilot.privacy import mask_with_map, restore

T = TypeVar("T", bound=BaseModel)
JUDGED = ("blame_department", "blame_partner", "blame_customer", "excuse", "policy_hiding", "lecturing", "jargon",
          "arguing_minimising", "overpromise")


class PromptBook(Protocol):
    def render(self, name: str, **values: object) -> str: ...


class StructuredLLM(Protocol):
    """What adjudication needs of an LLM engine: prompts, and a JSON answer validated against a model."""

    prompts: PromptBook

    def structured(self, system: str, user: str, model: type[T]) -> T: ...


class Verdict(BaseModel):
    id: str
    verdict: Literal["confirm", "reject"]
    reason: str = ""


class Added(BaseModel):
    category: str
    span: str
    reason: str = ""


class Adjudication(BaseModel):
    model_config = ConfigDict(extra="forbid")

    findings: list[Verdict] = Field(default_factory=list)
    added: list[Added] = Field(default_factory=list)


class Adjudicator:
    def __init__(self, llm: StructuredLLM, category_rule: dict[str, Rule], calibration: Calibration,
                 confirmed: float = 0.95, rejected: float = 0.2, added: float = 0.85) -> None:
        self.llm = llm
        self.category_rule = category_rule
        self.calibration = calibration
        self.confirmed, self.rejected, self.added = confirmed, rejected, added

    @staticmethod
    def judged(result: CheckResult) -> list[Violation]:
        """The findings put to the LLM: the rules' style findings, not the arithmetic ones."""
        return _judged(result.violations + result.second_look)

    def adjudicate(self, text: str, result: CheckResult) -> CheckResult:
        # copies, so the verdicts change this answer's findings only
        every = [v.model_copy() for v in result.violations + result.second_look]
        judged = _judged(every)
        masked, mapping = mask_with_map(text)
        listing = [{"id": f"f{i + 1}", "category": v.category, "words": _mask(v.text, mapping)} for i, v in enumerate(judged)]
        try:
            system = self.llm.prompts.render("adjudicate.system", language=result.language)
            user = self.llm.prompts.render(
                "adjudicate.user", findings=json.dumps(listing, ensure_ascii=False, indent=1), text=masked)
            answer = self.llm.structured(system, user, Adjudication)
        except Exception as exc:  # any failure leaves the rules' findings standing
            reason = getattr(exc, "reason", None) or type(exc).__name__
            return result.model_copy(update={"notices": [*result.notices, f"LLM adjudication failed ({reason}): the rules' findings stand"]})
        notices = list(result.notices)
        verdicts = {f.id: f.verdict for f in answer.findings}
        for i, v in enumerate(judged):
            verdict = verdicts.get(f"f{i + 1}")
            if verdict == "confirm":
                v.confidence = max(v.confidence, self.confirmed)
            elif verdict == "reject":
                v.confidence = min(v.confidence, self.rejected)
        invented = 0
        for item in answer.added:
            found = self._added(text, masked, mapping, item, every, result.language)
            if found is None:
                invented += 1
            elif found is not False:
                every.append(found)
        if invented:
            notices.append(f"{invented} finding(s) the LLM added did not name words of the text or a known category: ignored")
        every.sort(key=lambda v: (v.start, v.end))
        shown, second_look = self.calibration.split(every)
        return result.model_copy(update={
            "violations": shown, "second_look": second_look, "verdict": verdict_of(shown), "notices": notices,
        })

    def _added(self, text: str, masked: str, mapping: dict[str, str], item: Added, every: list[Violation],
               lang: str) -> Violation | bool | None:
        """The finding, None when it is invalid, False when the rules already have it."""
        span = item.span.strip()
        rule = self.category_rule.get(item.category)
        if rule is None or item.category not in JUDGED or not span or span not in masked:
            return None
        start = text.find(restore(span, mapping))
        if start < 0:
            return None
        end = start + len(restore(span, mapping))
        same = [v for v in every if v.category == item.category and v.start < end and start < v.end]
        if same:  # the rules or the classifier had it, perhaps folded away: the LLM's word brings it up
            for v in same:
                v.confidence = max(v.confidence, self.added)
            return False
        return Violation(
            rule_id=f"llm.{item.category}", category=rule.category, severity="medium", start=start, end=end,
            text=text[start:end], name=rule.name[lang], explanation=item.reason or rule.explanation[lang],
            suggestion=rule.fix.suggestion[lang], confidence=self.added,
        )


def _judged(findings: list[Violation]) -> list[Violation]:
    return [v for v in findings if v.category in JUDGED and not _arithmetic(v)]


def _arithmetic(v: Violation) -> bool:
    return v.rule_id.startswith(("overpromise.policy_", "ledger."))


def _mask(words: str, mapping: dict[str, str]) -> str:
    for placeholder, value in mapping.items():
        words = words.replace(value, placeholder)
    return words
