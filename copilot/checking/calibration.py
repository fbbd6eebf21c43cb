"""How sure the checker is of each finding, and which findings are shown (`knowledge/rules/calibration.yaml`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from copilot.checking.rules import RuleFileError, _read


class Calibration(BaseModel):
    show_at: float = Field(0.7, ge=0.0, le=1.0)
    default_rule: float = Field(0.9, ge=0.0, le=1.0)
    policy_rule: float = Field(0.95, ge=0.0, le=1.0)
    learned_share: float = Field(0.3, ge=0.0, le=1.0)
    learned_only: float = Field(0.9, ge=0.0, le=1.0)
    rules: dict[str, float] = Field(default_factory=dict, description="Measured precision per rule id.")

    def rule(self, rule_id: str) -> float:
        if rule_id in self.rules:
            return self.rules[rule_id]
        if rule_id.startswith(("overpromise.policy_", "ledger.")):
            return self.policy_rule
        return self.default_rule

    def fused(self, rule_confidence: float, learned: float | None) -> float:
        if learned is None:
            return rule_confidence
        return round((1 - self.learned_share) * rule_confidence + self.learned_share * learned, 3)


def load_calibration(path: Path) -> Calibration:
    if not path.exists():
        return Calibration()
    _, data = _read(path)
    try:
        return Calibration(**data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise RuleFileError(f"{path}:1: {problems}") from exc
