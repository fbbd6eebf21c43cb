"""What the checker returns."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field, computed_field

from copilot.errors import InvalidInput

Category = Literal[
    "blame_department",
    "blame_partner",
    "blame_customer",
    "excuse",
    "policy_hiding",
    "lecturing",
    "jargon",
    "arguing_minimising",
    "overpromise",
    "contradicts_commitment",
    "repetition",
]
CATEGORIES: tuple[str, ...] = get_args(Category)
Severity = Literal["low", "medium", "high"]
Verdict = Literal["ok", "revise", "reject"]
Role = Literal[
    "question", "instruction", "menu_path", "product_name", "disclaimer", "condition", "quotation", "statement"
]
ROLES: tuple[str, ...] = get_args(Role)
MOVES: tuple[str, ...] = ("acknowledge", "apologise", "thank", "own", "next_step", "follow_up")


class Violation(BaseModel):
    """One breach of the "no excuses, no blame" rules, anchored to the exact characters."""

    rule_id: str
    category: Category
    severity: Severity
    start: int = Field(description="Offset of the first character (Python string index).")
    end: int = Field(description="Offset after the last character.")
    text: str = Field(description="text[start:end]")
    name: str = Field(description="The rule's name in the text's language.")
    explanation: str
    suggestion: str = Field(description="How to say it instead.")
    limit: str | None = Field(None, description="For policy breaches: the limit or time frame that applies.")
    confidence: float = Field(1.0, ge=0.0, le=1.0, description="How sure the checker is (calibrated on labelled data).")


def verdict_of(shown: list[Violation]) -> Verdict:
    """A high-severity finding rejects the text; any other finding asks for a revision."""
    if any(v.severity == "high" for v in shown):
        return "reject"
    return "revise" if shown else "ok"


class MoveCheck(BaseModel):
    move: str
    present: bool
    start: int | None = None
    end: int | None = None


class ClauseRole(BaseModel):
    """One clause of the checked text and its role (a question, a step, a menu path, a disclaimer...)."""

    start: int
    end: int
    role: Role


class CheckResult(BaseModel):
    """The checker's verdict on one text."""

    language: str
    verdict: Verdict
    violations: list[Violation] = Field(default_factory=list, description="Findings sure enough to show.")
    second_look: list[Violation] = Field(
        default_factory=list, description="Findings below the confidence to show: worth a second look, folded away."
    )
    moves: list[MoveCheck] = Field(default_factory=list)
    notices: list[str] = Field(default_factory=list)
    clauses: list[ClauseRole] = Field(default_factory=list, description="Each clause of the text and what it does.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def moves_missing(self) -> list[str]:
        return [m.move for m in self.moves if not m.present]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def moves_present(self) -> list[str]:
        return [m.move for m in self.moves if m.present]

    @property
    def clean(self) -> bool:
        return not self.violations


class CheckError(InvalidInput):
    """The text cannot be checked as given (empty, too long, not text)."""

    code = "invalid_text"
