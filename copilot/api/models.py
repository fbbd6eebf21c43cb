"""The API's request and response bodies that are not the service's own models."""

from __future__ import annotations

from pydantic import BaseModel, Field

from copilot.checking import CheckResult
from copilot.conversation import Conversation
from copilot.drafting import SuggestContext, Suggestion
from copilot.knowledge.policies import Level
from copilot.text import ReplyLanguage


class CheckRequest(BaseModel):
    text: str = Field(description="The draft or the agent's final text.", max_length=20_000)
    language: ReplyLanguage | None = Field(None, description="Detected when omitted.")
    complaint: str | None = Field(None, description="The customer's message; quoting it is not flagged.", max_length=100_000)
    level: Level = "agent"
    policy: str | None = Field(None, description="Policy category as domain/category, e.g. ecommerce/late_delivery.")
    fix: bool = Field(False, description="Also return a deterministic rewrite that passes the check.")
    final: bool = Field(False, description="This is the text the agent is sending: log it with its check.")
    suggestion_id: str | None = Field(None, description="With final=true: the suggestion the text came from.")


class CheckResponse(CheckResult):
    fixed_text: str | None = Field(None, description="With fix=true: a rewrite that passes the check.")


class SuggestRequest(BaseModel):
    complaint: str = Field(description="The customer's message.", max_length=200_000)
    context: SuggestContext = Field(default_factory=SuggestContext)


class TurnCheckRequest(BaseModel):
    text: str = Field(description="What the agent is about to send in this conversation.", max_length=20_000)
    language: ReplyLanguage | None = None


class BriefRequest(BaseModel):
    language: ReplyLanguage | None = Field(None, description="The supervisor's language; default the conversation's.")


class MessageResponse(BaseModel):
    conversation: Conversation
    suggestion: Suggestion | None = Field(None, description="With ?suggest=true after a customer turn: drafts for the next agent turn.")


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str
