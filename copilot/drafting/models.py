"""Drafts and the Suggestion the copilot hands to an agent."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from copilot.analysis.models import Analysis
from copilot.checking.ledger import Ledger
from copilot.checking.models import CheckResult
from copilot.knowledge.policies import PolicyCategory
from copilot.retrieval.models import Passage

DraftKind = Literal["empathetic_reply", "expectation_lowering", "compensation"]
DRAFT_KINDS: tuple[DraftKind, ...] = ("empathetic_reply", "expectation_lowering", "compensation")
Engine = Literal["composer", "llm"]


class Citation(BaseModel):
    doc_id: str
    chunk_id: str
    title: str
    section: str = ""


class Draft(BaseModel):
    kind: DraftKind
    language: str
    text: str
    engine: Engine
    citations: list[Citation] = Field(default_factory=list)
    check: CheckResult
    fixed_by: Literal["none", "llm", "rules"] = Field("none", description="What repaired flagged spans, if anything.")


class SuggestContext(BaseModel):
    """What the CRM knows about the case (all optional)."""

    channel: Literal["chat", "email", "phone", "social", "other"] | None = None
    contacts_before: int | None = Field(None, ge=0, description="Earlier contacts about the same problem.")
    history: list[str] = Field(default_factory=list, description="Short notes of earlier contacts.")
    facts: dict[str, str] = Field(default_factory=dict, description="Order or account facts, e.g. order_id.")
    level: Literal["agent", "supervisor", "manager"] = "agent"
    language: Literal["zh-Hant", "zh-Hans", "en"] | None = Field(
        None, description="The customer's language if the CRM knows it; used when the text itself does not tell."
    )
    policy: str | None = Field(None, description="Force a policy category (domain/category) instead of detecting it.")


Channel = Literal["chat", "email", "phone", "social"]


class DraftRequest(BaseModel):
    """Everything a drafting engine needs for one suggestion, passed whole."""

    model_config = {"arbitrary_types_allowed": True}

    complaint: str = Field(description="The customer's text (a conversation's customer turns).")
    analysis: Analysis
    category: PolicyCategory | None = Field(None, description="The policy that applies; None when none does.")
    level: Literal["agent", "supervisor", "manager"] = "agent"
    channel: Channel = "chat"
    ledger: Ledger | None = None


class LiveContext(BaseModel):
    """What a live conversation adds to drafting the agent's next turn."""

    conversation_id: str
    ledger: Ledger
    transcript: str = Field(description="Recent turns verbatim after a summary of older ones (for the LLM).")
    anger: int = Field(0, ge=0, le=3, description="The customer's anger in their latest turn.")
    query: str = Field("", description="What to search the knowledge base with: the opening and the latest customer turns.")


class Suggestion(BaseModel):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex, description="Quote it when sending feedback.")
    analysis: Analysis
    passages: list[Passage] = Field(default_factory=list)
    drafts: list[Draft]
    engine: Engine = Field(description="The engine that was asked to draft; each draft says who actually wrote it.")
    notices: list[str] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    policy: str | None = Field(None, description="The policy category the drafts and checks used.")
    conversation_id: str | None = Field(None, description="The conversation whose next agent turn this drafts.")
