"""How sure the checker is of each finding, and which findings are shown (`knowledge/rules/calibration.yaml`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from copilot.checking.models import Violation
from copilot.checking.rules import RuleFileError, _read


class Calibration(BaseModel):
    show_at: float = Field(0.7, ge=0.0, le=1.0)
    default_rule: float = Field(0.9, ge=0.0, le=1.0)
    policy_rule: float = Field(0.95, ge=0.0, le=1.0)
    learned_share: float = Field(0.5, ge=0.0, le=1.0, description="How much the classifier's agreement adds to a rule finding.")
    learned_only: list[tuple[float, float]] = Field(
        default_factory=lambda: [(0.9, 0.75), (0.8, 0.64), (0.0, 0.4)],
        description="For a clause only the classifier flags: (probability at least, measured precision), highest first.",
    )
    learned_only_skip: list[str] = Field(
        default_factory=list, description="Categories the classifier may confirm but never raise alone."
    )
    rule_precision: dict[str, float] = Field(default_factory=dict, description="Measured precision per rule id.")

    def rule(self, rule_id: str) -> float:
        if rule_id in self.rule_precision:
            return self.rule_precision[rule_id]
        if rule_id.startswith(("overpromise.policy_", "ledger.")):
            return self.policy_rule
        return self.default_rule

    def learned(self, probability: float) -> float:
        return next((precision for floor, precision in self.learned_only if probability >= floor), 0.0)

    def split(self, findings: list[Violation]) -> tuple[list[Violation], list[Violation]]:
        """(shown, worth a second look)."""
        return [v for v in findings if v.confidence >= self.show_at], [v for v in findings if v.confidence < self.show_at]

    def fused(self, rule_confidence: float, learned: float | None) -> float:
        if learned is None:
            return rule_confidence
        # agreement adds evidence; the classifier's silence does not take a precise rule's finding away
        return round(1 - (1 - rule_confidence) * (1 - self.learned_share * learned), 3)


def load_calibration(path: Path) -> Calibration:
    if not path.exists():
        return Calibration()
    _, data = _read(path)
    try:
        return Calibration(**data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise RuleFileError(f"{path}:1: {problems}") from exc


def measure(findings: list[tuple[str, float, bool]], min_firings: int = 5) -> dict:
    """The calibration measured from (rule id, probability or confidence, correct?) triples on labelled data:
    each rule's precision (add-one smoothed, rules with at least `min_firings`), and for classifier-only
    findings the precision per probability band."""
    by_rule: dict[str, list[bool]] = {}
    bands: dict[float, list[bool]] = {0.9: [], 0.8: [], 0.7: [], 0.6: [], 0.5: [], 0.0: []}
    for rule_id, probability, correct in findings:
        if rule_id.startswith("learned."):
            bands[next(f for f in bands if probability >= f)].append(correct)
        else:
            by_rule.setdefault(rule_id, []).append(correct)
    rules = {r: round((sum(v) + 1) / (len(v) + 2), 3) for r, v in sorted(by_rule.items()) if len(v) >= min_firings}
    learned, best = [], 0.0
    for floor in sorted(bands):  # precision never falls as the probability rises
        hits = bands[floor]
        best = max(best, round((sum(hits) + 1) / (len(hits) + 2), 3)) if hits else best
        learned.append((floor, best))
    return {"rule_precision": rules, "learned_only": sorted(learned, reverse=True)}
