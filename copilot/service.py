"""The `Copilot` service: the one object every face (API, side panel, CLI, eval runs) talks to. A façade over
the use cases in `copilot/cases/`, which share the parts built once from the settings (`copilot/parts.py`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from copilot.analysis.models import Analysis
from copilot.audit import AuditLog, Feedback
from copilot.cases.checking import Checking, UnknownSuggestion
from copilot.cases.conversations import (
    Conversations,
    EmptyTurn,
    NoCustomerTurn,
    UnknownConversation,
    UnknownPolicy,
)
from copilot.cases.knowledge import BUILTIN_SOURCE, Knowledge
from copilot.cases.rewriting import Rewriting
from copilot.cases.suggesting import ComplaintError, Suggesting
from copilot.checking import NO_CONTEXT, CheckContext, Checker, CheckResult, FixResult
from copilot.conversation.models import Brief, Conversation, ConversationStart, MessageIn
from copilot.drafting.models import SuggestContext, Suggestion
from copilot.drafting.rewrite import RewriteRequest, RewriteResult
from copilot.drafting.streaming import StreamEvent
from copilot.knowledge.phrasebook import Phrasebook
from copilot.knowledge.policies import PolicyBook
from copilot.parts import Parts
from copilot.retrieval import IndexReport, KnowledgeIndex, Passage, SearchAnswer, SearchFilters
from copilot.retrieval.index import ProgressFn
from copilot.settings import Settings, get_settings
from copilot.stores import Stores

__all__ = ["BUILTIN_SOURCE", "ComplaintError", "Copilot", "EmptyTurn", "NoCustomerTurn", "UnknownConversation",
           "UnknownPolicy", "UnknownSuggestion"]


class Copilot:
    """knowledge -> retrieval -> analysis -> drafting -> checking, and live conversations, for every face."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.parts = Parts(self.settings)
        self.checking = Checking(self.parts)
        self.knowledge = Knowledge(self.parts)
        self.suggesting = Suggesting(self.parts, self.checking, self.knowledge)
        self.conversations = Conversations(self.parts, self.checking, self.suggesting, self.knowledge)
        self.rewriting = Rewriting(self.parts, self.checking, self.conversations)

    # ---------------------------------------------------------------- the parts the faces read

    @property
    def stores(self) -> Stores:
        return self.parts.stores

    @property
    def audit(self) -> AuditLog:
        return self.parts.stores.audit

    @property
    def metrics(self) -> dict[str, int]:
        return self.parts.metrics

    @property
    def policies(self) -> PolicyBook:
        return self.parts.policies

    @property
    def phrasebook(self) -> Phrasebook:
        return self.parts.phrasebook

    @property
    def checker(self) -> Checker:
        return self.parts.checker

    @property
    def llm(self):
        return self.parts.llm

    @property
    def index(self) -> KnowledgeIndex:
        """The knowledge index, opened on first use (raises IndexMissing if it was never built)."""
        return self.parts.index

    # ---------------------------------------------------------------- suggesting

    def analyze(self, complaint: str, context: SuggestContext | None = None) -> Analysis:
        """Read a complaint (language, needs, anger, type, escalation, what it is about, facts)."""
        return self.suggesting.analyze(complaint, context)

    def suggest(self, complaint: str, context: SuggestContext | None = None, *, client: str | None = None) -> Suggestion:
        """Analyse, retrieve, draft three texts, check each and fix what the checker flags; log it."""
        return self.suggesting.suggest(complaint, context or SuggestContext(), client=client)

    def stream_suggest(self, complaint: str, context: SuggestContext | None = None, *,
                       client: str | None = None) -> Iterator[StreamEvent]:
        """Like `suggest`, as events: each draft as it is written (token by token with an LLM, sentence by
        sentence from the composer), the checker's findings as each sentence completes, each finished draft,
        then the whole suggestion."""
        return self.suggesting.stream(complaint, context or SuggestContext(), client=client)

    def warm(self) -> None:
        """The fixed guidance searches for every language, so that no first suggestion pays for them."""
        self.suggesting.warm()

    # ---------------------------------------------------------------- checking

    def check(self, text: str, language: str | None = None, context: CheckContext = NO_CONTEXT) -> CheckResult:
        """Check a draft or the agent's own text against the "no excuses, no blame" rules (and, with a
        conversation's ledger, against the promises already made)."""
        return self.checking.check(text, language, context)

    def fix(self, text: str, language: str | None = None, context: CheckContext = NO_CONTEXT) -> FixResult:
        """Rewrite the flagged spans deterministically (phrasebook) and re-check until clean."""
        return self.checking.fix(text, language, context)

    def check_final(self, text: str, language: str | None = None, context: CheckContext = NO_CONTEXT, *,
                    suggestion_id: str | None = None, draft_kind: str | None = None, client: str | None = None) -> CheckResult:
        """Check the text the agent is about to send, and log it with its result."""
        return self.checking.check_final(text, language, context, suggestion_id=suggestion_id,
                                         draft_kind=draft_kind, client=client)

    def feedback(self, feedback: Feedback, *, client: str | None = None) -> dict:
        """Record the agent's verdict on a draft (and, if given, check and log the text they finally used)."""
        return self.checking.feedback(feedback, client=client)

    def analytics(self) -> dict[str, list[dict]]:
        """Suggestions per day, violation rate by rule, acceptance and edit rates, top categories."""
        return self.checking.analytics()

    def rewrite(self, request: RewriteRequest) -> RewriteResult:
        """Shorter, warmer, more formal, simpler words, the other script or another language; re-checked."""
        return self.rewriting.rewrite(request)

    # ---------------------------------------------------------------- conversations

    def start_conversation(self, start: ConversationStart | None = None, *, client: str | None = None) -> Conversation:
        """Open a conversation the copilot will follow turn by turn."""
        return self.conversations.start(start, client=client)

    def add_message(self, conversation_id: str, message: MessageIn, *, client: str | None = None,
                    request_key: str | None = None) -> Conversation:
        """Append a customer or agent turn; the conversation as it now reads (see `Conversations.add_message`)."""
        return self.conversations.add_message(conversation_id, message, client=client, request_key=request_key)

    def conversation(self, conversation_id: str) -> Conversation:
        """The conversation with each turn read, the trend, alerts and the commitments ledger."""
        return self.conversations.read(conversation_id)

    def delete_conversation(self, conversation_id: str) -> None:
        """Forget a conversation: its turns are the only place the customer's words are kept unmasked."""
        self.conversations.delete(conversation_id)

    def suggest_next(self, conversation_id: str, *, client: str | None = None) -> Suggestion:
        """Three drafts for the agent's next turn, from the whole conversation and consistent with its ledger."""
        return self.conversations.suggest_next(conversation_id, client=client)

    def stream_next(self, conversation_id: str, *, client: str | None = None) -> Iterator[StreamEvent]:
        """`suggest_next` as a stream of events (see `stream_suggest`)."""
        return self.conversations.stream_next(conversation_id, client=client)

    def check_turn(self, conversation_id: str, text: str, language: str | None = None) -> CheckResult:
        """Check text the agent is about to send in a conversation: the rules, the policy and the ledger."""
        return self.conversations.check_turn(conversation_id, text, language)

    def escalation_brief(self, conversation_id: str, language: str | None = None) -> Brief:
        """A brief for the supervisor taking over, in `language` (default: the conversation's)."""
        return self.conversations.escalation_brief(conversation_id, language)

    # ---------------------------------------------------------------- knowledge

    def index_knowledge(self, paths: Sequence[Path | str] = (), progress: ProgressFn | None = None) -> IndexReport:
        """Index the shipped knowledge base (no paths) or the given folders/files; only what changed is embedded."""
        return self.knowledge.index_knowledge(paths, progress)

    def search_knowledge(self, query: str, k: int = 5, filters: SearchFilters | None = None) -> list[Passage]:
        """Hybrid search over the knowledge base."""
        return self.knowledge.search(query, k=k, filters=filters)

    def explain_search(self, query: str, k: int = 5, filters: SearchFilters | None = None) -> SearchAnswer:
        """Hybrid search with its explanation: which channel found what, the expansion terms, notices."""
        return self.knowledge.explain(query, k=k, filters=filters)
