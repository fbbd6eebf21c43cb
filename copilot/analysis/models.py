"""What the analysis of a complaint produces."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field

Need = Literal["fast_fix", "respect", "compensation", "vent"]
Signal = Literal["manager", "regulator", "media", "lawsuit", "repeat_contact", "many_affected"]
CustomerType = Literal["emotional", "rational", "unreasonable"]
HardType = Literal["hedgehog", "snake", "fox"]
# each name as its literal type, to turn names read from data or an LLM's answer into them (unknown: not in)
NEEDS: dict[str, Need] = {n: n for n in get_args(Need)}
SIGNALS: dict[str, Signal] = {s: s for s in get_args(Signal)}
CUSTOMER_TYPES: dict[str, CustomerType] = {t: t for t in get_args(CustomerType)}
HARD_TYPES: dict[str, HardType] = {t: t for t in get_args(HardType)}


class Evidence(BaseModel):
    start: int
    end: int
    text: str


class NeedFinding(BaseModel):
    need: Need
    evidence: list[Evidence] = Field(default_factory=list)


class SignalFinding(BaseModel):
    signal: Signal
    evidence: list[Evidence] = Field(default_factory=list)


class CategoryMatch(BaseModel):
    domain: str
    category: str
    name: str
    score: float = Field(description="The share of the nearest labelled examples' vote (0-1).")
    matched: list[str] = Field(default_factory=list, description="What decided it.")

    @property
    def key(self) -> str:
        return f"{self.domain}/{self.category}"


class Topic(BaseModel):
    """The customer's problem as the agent would name it, in the reply's language."""

    phrase: str
    form: Literal["clause", "aspects"] = Field(description="The customer's clause said back, or named aspects.")
    aspects: list[str] = Field(default_factory=list)
    fallback: str | None = Field(None, description="The aspects named, for when the clause cannot be said back.")
    statement: str | None = Field(None, description="The experience restated after 很抱歉 / I'm sorry, when it can be.")
    start: int = 0
    end: int = 0


class Facts(BaseModel):
    order_ids: list[str] = Field(default_factory=list)
    amounts: list[float] = Field(default_factory=list)
    demanded: list[float] = Field(default_factory=list, description="Amounts the customer asks to be paid.")
    dates: list[str] = Field(default_factory=list)
    durations: list[str] = Field(default_factory=list)
    contacts_before: int | None = None
    signed_as: str | None = Field(None, description="The name the customer signed with, to greet them by.")


class Analysis(BaseModel):
    """A reading of the complaint: who is writing, what they need, how it may escalate, what it is about."""

    language: Literal["zh-Hant", "zh-Hans", "en", "other"]
    reply_language: Literal["zh-Hant", "zh-Hans", "en"] = Field(description="The language the drafts are written in.")
    needs: list[NeedFinding] = Field(default_factory=list)
    anger: int = Field(0, ge=0, le=3)
    anger_evidence: list[Evidence] = Field(default_factory=list)
    customer_type: CustomerType = "rational"
    hard_type: HardType | None = None
    escalation: list[SignalFinding] = Field(default_factory=list)
    category: CategoryMatch | None = Field(None, description="The policy category that applies; None when no policy does.")
    category_confidence: float = Field(1.0, description="Confidence in the category decision, abstention included.")
    topic: Topic | None = Field(None, description="The problem in the customer's terms; None when it cannot be named cleanly.")
    problem_type: str | None = Field(None, description="The broad kind of problem (device_fault, billing, delivery ...).")
    problem_confidence: float = Field(0.0, description="The share of the nearest examples' vote for that problem type.")
    asks: list[str] = Field(default_factory=list, description="What the customer asks for (refund, repair, explanation ...).")
    contentless: bool = Field(False, description="Nothing to act on yet: a greeting, emoji, a link.")
    questions: list[str] = Field(default_factory=list, description="Questions the customer wants answered (not rhetorical).")
    praises: bool = Field(False, description="The customer also says something was done well.")
    vulnerable: bool = Field(False, description="Someone who needs extra care is affected (elderly, newborn, medical equipment).")
    facts: Facts = Field(default_factory=Facts)
    injection: list[Evidence] = Field(default_factory=list, description="Instructions aimed at the model.")
    notices: list[str] = Field(default_factory=list)
    engine: Literal["rules", "llm"] = "rules"

    @property
    def need_names(self) -> list[str]:
        return [n.need for n in self.needs]

    @property
    def signal_names(self) -> list[str]:
        return [s.signal for s in self.escalation]
