"""What the analysis of a complaint produces."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Need = Literal["fast_fix", "respect", "compensation", "vent"]
Signal = Literal["manager", "regulator", "media", "lawsuit", "repeat_contact", "many_affected"]
CustomerType = Literal["emotional", "rational", "unreasonable"]
HardType = Literal["hedgehog", "snake", "fox"]


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
    score: float
    matched: list[str] = Field(default_factory=list, description="Keywords or passages that decided it.")


class Facts(BaseModel):
    order_ids: list[str] = Field(default_factory=list)
    amounts: list[float] = Field(default_factory=list)
    demanded: list[float] = Field(default_factory=list, description="Amounts the customer asks to be paid.")
    dates: list[str] = Field(default_factory=list)
    durations: list[str] = Field(default_factory=list)
    contacts_before: int | None = None


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
    category: CategoryMatch | None = None
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
