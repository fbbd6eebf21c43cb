"""A live conversation: its turns, how the customer's mood moves, and what the agent has promised."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from copilot.checking.ledger import Commitment
from copilot.checking.models import CheckResult

Role = Literal["customer", "agent"]
Direction = Literal["calming", "steady", "escalating"]
AlertKind = Literal["escalating", "manager", "regulator", "media", "lawsuit", "furious"]
MAX_TURN_CHARS = 20_000


class ConversationStart(BaseModel):
    """What the CRM knows when a conversation starts (all optional)."""

    id: str | None = Field(None, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$",
                           description="The CRM's own conversation id; generated when omitted.")
    channel: Literal["chat", "email", "phone", "social", "other"] | None = None
    level: Literal["agent", "supervisor", "manager"] = "agent"
    language: Literal["zh-Hant", "zh-Hans", "en"] | None = Field(None, description="Reply language if known.")
    policy: str | None = Field(None, description="Force a policy category (domain/category).")
    contacts_before: int | None = Field(None, ge=0)


class MessageIn(BaseModel):
    role: Role
    text: str = Field(max_length=MAX_TURN_CHARS)
    at: datetime | None = Field(None, description="When it was said (ISO 8601 with offset); now when omitted.")

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give the time with its UTC offset, e.g. 2026-11-20T09:02:11+08:00")
        return value


class TurnReading(BaseModel):
    """The customer's state in one turn."""

    anger: int = Field(ge=0, le=3)
    needs: list[str] = Field(default_factory=list)
    signals: list[str] = Field(default_factory=list)


class Turn(BaseModel):
    index: int
    role: Role
    text: str
    at: datetime
    reading: TurnReading | None = Field(None, description="Customer turns: anger, needs, escalation signals.")
    commitments: list[Commitment] = Field(default_factory=list, description="Agent turns: the promises made.")
    apology: bool = Field(False, description="Agent turns: whether it apologised.")
    check: CheckResult | None = Field(None, description="Agent turns: the check of what was sent.")


class Alert(BaseModel):
    turn: int
    kind: AlertKind
    message: str


class TrendPoint(BaseModel):
    turn: int
    at: datetime
    anger: int
    needs: list[str] = Field(default_factory=list)
    signals: list[str] = Field(default_factory=list)


class Trend(BaseModel):
    points: list[TrendPoint] = Field(default_factory=list)
    direction: Direction = "steady"
    alerts: list[Alert] = Field(default_factory=list)


class Conversation(BaseModel):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    created_at: datetime
    start: ConversationStart = Field(default_factory=ConversationStart)
    turns: list[Turn] = Field(default_factory=list)
    language: Literal["zh-Hant", "zh-Hans", "en"] | None = Field(None, description="The language replies are written in.")
    policy: str | None = Field(None, description="The policy category: the one given at the start, else the one detected.")
    trend: Trend = Field(default_factory=Trend)
    commitments: list[Commitment] = Field(default_factory=list, description="The ledger: every promise made so far.")
    apologies_in_a_row: int = Field(0, description="Agent turns in a row, up to the last one, that apologised.")

    @property
    def customer_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.role == "customer"]

    @property
    def customer_text(self) -> str:
        """Everything the customer said, one turn per line: the complaint as a whole."""
        return "\n".join(t.text for t in self.customer_turns)


class BriefSection(BaseModel):
    key: str
    title: str
    text: str


class Brief(BaseModel):
    """What a supervisor taking over needs to know, in their language."""

    conversation_id: str
    language: Literal["zh-Hant", "zh-Hans", "en"]
    engine: Literal["composer", "llm"]
    title: str
    sections: list[BriefSection]
    opening_line: str
    citations: list[dict] = Field(default_factory=list)
    notices: list[str] = Field(default_factory=list)
