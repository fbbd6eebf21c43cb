"""Live conversations: turns as they arrive, each read; the next agent turn drafted from the whole
conversation and its promises; a turn checked against them; the escalation brief."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from copilot.cases.checking import Checking
from copilot.cases.knowledge import Knowledge
from copilot.cases.suggesting import ComplaintError, Suggesting, guidance_language
from copilot.checking import CheckContext, CheckResult
from copilot.checking.ledger import Ledger
from copilot.conversation.brief import compose_brief
from copilot.conversation.models import Brief, Conversation, ConversationStart, MessageIn
from copilot.conversation.reader import ledger_of
from copilot.conversation.transcript import transcript
from copilot.drafting.citations import cite
from copilot.drafting.llm import LLMError
from copilot.drafting.llm_drafter import llm_brief
from copilot.drafting.models import LiveContext, SuggestContext, Suggestion
from copilot.drafting.streaming import StreamEvent
from copilot.errors import NotFound
from copilot.parts import Parts
from copilot.privacy import mask_with_map, restore
from copilot.retrieval import IndexMissing, SearchFilters, StoreUnavailable
from copilot.text import is_blank


class UnknownConversation(NotFound):
    """No conversation has this id."""

    code = "unknown_conversation"


class UnknownPolicy(ComplaintError):
    """A conversation was started with a policy category that does not exist."""

    code = "invalid_conversation"


class EmptyTurn(ComplaintError):
    code = "invalid_message"


class NoCustomerTurn(ComplaintError):
    """Drafting or a brief was asked for before the customer said anything."""

    code = "no_customer_turn"


def _unknown(conversation_id: str) -> UnknownConversation:
    return UnknownConversation(f"no conversation with id {conversation_id!r}: start the conversation first")


class Conversations:
    def __init__(self, parts: Parts, checking: Checking, suggesting: Suggesting, knowledge: Knowledge) -> None:
        self.parts = parts
        self.checking = checking
        self.suggesting = suggesting
        self.knowledge = knowledge
        self._read_cache: dict[str, tuple[tuple[str, int], Conversation]] = {}

    @property
    def store(self):
        return self.parts.stores.conversations

    def start(self, start: ConversationStart | None = None, *, client: str | None = None) -> Conversation:
        """Open a conversation the copilot will follow turn by turn."""
        start = start or ConversationStart()
        if start.policy and self.parts.policies.category(start.policy) is None:
            raise UnknownPolicy(f"unknown policy {start.policy!r}: use domain/category, e.g. ecommerce/late_delivery")
        conversation_id = start.id or uuid.uuid4().hex
        self.store.create(conversation_id, start, client=client)
        return self.read(conversation_id)

    def add_message(self, conversation_id: str, message: MessageIn, *, client: str | None = None,
                    request_key: str | None = None) -> Conversation:
        """Append a customer or agent turn; returns the conversation as it now reads. An agent turn is what
        was sent: its check goes to the audit log like any final text. A turn sent again with the same
        `request_key` (a CRM's retry) is stored and logged once."""
        if is_blank(message.text):
            raise EmptyTurn(f"the {message.role} turn is empty: send the text that was said")
        appended = self.store.append(conversation_id, message, message.at or datetime.now(UTC), request_key)
        if appended is None:
            raise _unknown(conversation_id)
        conversation = self.read(conversation_id)
        turn = next((t for t in conversation.turns if t.index == appended.index), None)
        if appended.new and turn is not None and turn.check is not None:
            self.parts.stores.audit.record_check(turn.text, turn.check, final=True, client=client)
        return conversation

    def read(self, conversation_id: str) -> Conversation:
        """The conversation with each turn read, the trend, alerts and the commitments ledger."""
        version = self.store.version(conversation_id)
        cached = self._read_cache.get(conversation_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        stored = self.store.load(conversation_id)
        if stored is None:
            raise _unknown(conversation_id)
        created, start, turns = stored
        conversation = self.parts.conversation_reader.read(conversation_id, created, start, turns)
        self._read_cache[conversation_id] = ((created.isoformat(), len(turns)), conversation)
        return conversation

    def delete(self, conversation_id: str) -> None:
        """Forget a conversation: its turns are the only place the customer's words are kept unmasked."""
        if not self.store.delete(conversation_id):
            raise UnknownConversation(f"no conversation with id {conversation_id!r}")
        self._read_cache.pop(conversation_id, None)

    def live(self, conversation: Conversation) -> tuple[str, SuggestContext, LiveContext]:
        """What drafting the next turn reads: the customer's words, the context the start gave, and the ledger."""
        customer = conversation.customer_turns
        if not customer:
            raise NoCustomerTurn("the conversation has no customer turn yet: add the customer's message first")
        start = conversation.start
        context = SuggestContext(channel=start.channel, contacts_before=start.contacts_before, level=start.level,
                                 language=conversation.language, policy=start.policy or conversation.policy)
        llm = self.parts.llm
        # only the LLM reads the transcript; the composer works from the analysis and the ledger
        text = "" if llm is None else transcript(
            conversation, llm.count_tokens, self.parts.settings.conversation_tokens, self.parts.settings.conversation_turns)
        last = customer[-1].reading
        # the first turn says what the case is about, the latest what the customer wants now; searching with the
        # whole conversation would cost an embedding of every turn and blur both
        query = customer[0].text[:700] + ("\n" + customer[-1].text[:500] if len(customer) > 1 else "")
        live = LiveContext(conversation_id=conversation.id, ledger=ledger_of(conversation), transcript=text,
                           anger=last.anger if last else 0, query=query)
        return conversation.customer_text, context, live

    def suggest_next(self, conversation_id: str, *, client: str | None = None) -> Suggestion:
        """Three drafts for the agent's next turn, from the whole conversation and consistent with its ledger."""
        complaint, context, live = self.live(self.read(conversation_id))
        return self.suggesting.suggest(complaint, context, live, client=client)

    def stream_next(self, conversation_id: str, *, client: str | None = None) -> Iterator[StreamEvent]:
        complaint, context, live = self.live(self.read(conversation_id))
        return self.suggesting.stream(complaint, context, live, client=client)

    def check_turn(self, conversation_id: str, text: str, language: str | None = None) -> CheckResult:
        """Check text the agent is about to send in a conversation: the rules, the policy and the ledger."""
        conversation = self.read(conversation_id)
        context = CheckContext(complaint=conversation.customer_text or None, level=conversation.start.level,
                               policy=conversation.policy, ledger=ledger_of(conversation))
        return self.checking.check(text, language or conversation.language, context)

    def escalation_brief(self, conversation_id: str, language: str | None = None) -> Brief:
        """A brief for the supervisor taking over, in `language` (default: the conversation's)."""
        conversation = self.read(conversation_id)
        complaint, context, live = self.live(conversation)
        customer_lang = conversation.language or "en"
        lang = language or customer_lang
        lists = self.parts.brief_lists
        if lang not in lists:
            raise ComplaintError(f"no brief in {lang!r}: choose zh-Hant, zh-Hans or en")
        analysis = self.parts.analyzer.analyze(complaint, context.contacts_before)
        category = self.parts.policies.category(conversation.policy) if conversation.policy else None
        opening = self._opening_line(analysis, category, customer_lang, live.ledger)
        brief = compose_brief(conversation, analysis, category, lists[lang], lang, opening)
        try:
            kinds = " ".join(filter(None, [analysis.customer_type, analysis.hard_type]))
            passages = self.knowledge.search(f"{kinds} escalated complaint supervisor approach", k=3,
                                             filters=SearchFilters(kind=["guidance"], language=[guidance_language(lang)]))
            if category is not None:
                passages += self.knowledge.policy_passages(complaint, category, guidance_language(lang))[:1]
            brief.citations = [c.model_dump() for c in cite(passages)]
        except (IndexMissing, StoreUnavailable) as exc:
            brief.notices.append(f"no knowledge passages: {exc}")
        if self.parts.llm is not None:
            self._llm_brief(brief, live, customer_lang, CheckContext(level=context.level, policy=category, ledger=live.ledger))
        return brief

    def _opening_line(self, analysis, category, lang: str, ledger: Ledger) -> str:
        slots = self.parts.composer.slots(analysis.model_copy(update={"reply_language": lang}), category, lang)
        phrasebook = self.parts.phrasebook
        for variant in range(8):
            line = phrasebook.fill(lang, "supervisor_opening", slots, variant=variant)
            if line and not self.checking.check(line, lang, CheckContext(ledger=ledger)).violations:
                return line
        return phrasebook.fill(lang, "own", slots) or ""

    def _llm_brief(self, brief: Brief, live: LiveContext, customer_lang: str, context: CheckContext) -> None:
        """The LLM rewrites the narrative sections; facts stay as composed. On failure the composer's stand."""

        facts = "\n".join(f"{s.title}: {s.text}" for s in brief.sections if s.key in ("promised", "policy_allows", "facts", "trend"))
        masked, mapping = mask_with_map(live.transcript)
        try:
            out = llm_brief(self.parts.llm, masked, facts, brief.language, customer_lang)
        except LLMError as exc:
            self.parts.metrics["llm_fallbacks"] += 1
            brief.notices.append(f"the LLM was not usable ({exc.reason}): the composer wrote the brief")
            return
        opening = restore(out.opening_line, mapping)
        if self.checking.check(opening, customer_lang, context).violations:
            opening = self.checking.fix(opening, customer_lang, context).text
        values = {"what_happened": restore(out.what_happened, mapping), "customer_wants": restore(out.customer_wants, mapping),
                  "approach": restore(out.approach, mapping), "opening_line": opening}
        for section in brief.sections:
            if section.key in values and values[section.key].strip():
                section.text = values[section.key]
        brief.opening_line, brief.engine = opening, "llm"
