"""The `Copilot` service: the one object every face (API, side panel, CLI, eval runs) talks to."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from copilot.analysis.models import Analysis
from copilot.audit import Feedback
from copilot.checking import Checker, CheckResult, Fixer, FixResult
from copilot.checking.ledger import Ledger
from copilot.conversation.models import Brief, Conversation, ConversationStart, MessageIn
from copilot.drafting.models import LiveContext, SuggestContext, Suggestion
from copilot.drafting.rewrite import RewriteRequest, RewriteResult
from copilot.knowledge.loader import SourceError, load_folder
from copilot.knowledge.phrasebook import Phrasebook, load_phrasebook
from copilot.knowledge.policies import Level, PolicyBook, PolicyCategory, load_policies
from copilot.privacy import mask_with_map, restore
from copilot.retrieval import (
    IndexMissing,
    IndexReport,
    KnowledgeIndex,
    Passage,
    SearchFilters,
    StoreUnavailable,
)
from copilot.retrieval.index import ProgressFn
from copilot.settings import Settings, get_settings

BUILTIN_SOURCE = "builtin:knowledge"


class ComplaintError(ValueError):
    """The complaint cannot be used as given."""


class UnknownSuggestion(LookupError):
    """Feedback names a suggestion that was never made."""


class UnknownConversation(LookupError):
    """No conversation has this id."""


def _guidance_lang(lang: str) -> str:
    # guidance ships in Traditional Chinese and English; Simplified queries match it after T-to-S
    return "en" if lang == "en" else "zh-Hant"


@dataclass
class _Plan:
    """A suggestion in the making: what drafting needs once the complaint is read and the passages found."""

    text: str
    context: SuggestContext
    live: LiveContext | None
    analysis: Analysis
    category: PolicyCategory | None
    lang: str
    passages: list[Passage]
    by_kind: dict[str, list[Passage]]
    notices: list[str]
    timings: dict[str, float]
    started: float

    @property
    def ledger(self) -> Ledger | None:
        return self.live.ledger if self.live else None

    @property
    def prompt_text(self) -> str:
        """What the LLM is shown as the complaint: a conversation's transcript, else the complaint itself."""
        return self.live.transcript if self.live else self.text


class Copilot:
    """Owns the pipeline: knowledge -> retrieval -> analysis -> drafting -> checking."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._index: KnowledgeIndex | None = None
        self._read_cache: dict[str, tuple[int, Conversation]] = {}
        self.metrics: dict[str, int] = {"suggestions": 0, "llm_fallbacks": 0, "llm_rewrites": 0, "rule_fixes": 0}

    # ---------------------------------------------------------------- content

    @cached_property
    def policies(self) -> PolicyBook:
        return load_policies(self.settings.knowledge_dir / "policies")

    @cached_property
    def phrasebook(self) -> Phrasebook:
        return load_phrasebook(self.settings.knowledge_dir / "phrasebook")

    @cached_property
    def checker(self) -> Checker:
        from copilot.checking.learned import ClauseClassifier
        from copilot.checking.rules import load_rules

        rules = self.settings.knowledge_dir / "rules"
        classifier = ClauseClassifier.from_folder(rules / "examples") if self.settings.learned_checks else None
        return Checker(load_rules(rules), self.policies, classifier)

    @cached_property
    def fixer(self) -> Fixer:
        return Fixer(self.checker, self.phrasebook)

    @cached_property
    def analyzer(self):
        from copilot.analysis import Analyzer

        return Analyzer(
            self.settings.knowledge_dir / "analysis" / "signals.yaml", self.policies, domain_fallback=self._policy_by_retrieval
        )

    def _policy_passages(self, text: str, category: PolicyCategory, lang: str) -> list[Passage]:
        """Passages of the policy that applies, the section about this category first."""
        name = category.names.get(lang, category.names["en"])
        hits = self.search_knowledge(f"{name} {text[:600]}", k=5, filters=SearchFilters(kind=["policy"], domain=[category.domain]))
        own = [h for h in hits if any(n and n in h.section for n in category.names.values())]
        return (own + [h for h in hits if h not in own])[:2]

    def _policy_by_retrieval(self, text: str) -> tuple[str, str] | None:
        """The policy category whose passage best matches the complaint (None without an index)."""
        try:
            hits = self.search_knowledge(text[:1500], k=1, filters=SearchFilters(kind=["policy"]))
        except (IndexMissing, StoreUnavailable, ValueError):
            return None
        if not hits:
            return None
        hit = hits[0]
        for category in self.policies.categories(hit.domain):
            if any(name and name in hit.section for name in category.names.values()):
                return category.domain, category.id
        return None

    @cached_property
    def llm(self):
        """The LLM engine when an endpoint is configured, else None (the composer drafts)."""
        if not self.settings.llm_base_url:
            return None
        from copilot.drafting.llm import LLMEngine

        return LLMEngine(self.settings)

    @cached_property
    def composer(self):
        from copilot.drafting import Composer

        return Composer(self.phrasebook, is_clean=lambda text, lang: not self.checker.check(text, lang).violations)

    @cached_property
    def audit(self):
        from copilot.audit import AuditLog

        return AuditLog(self.settings.audit_path)

    # ---------------------------------------------------------------- suggesting

    def analyze(self, complaint: str, context: SuggestContext | None = None) -> Analysis:
        """Read a complaint (language, needs, anger, type, escalation, category, facts)."""
        text, notices = self._prepare(complaint)
        analysis = self.analyzer.analyze(text, (context or SuggestContext()).contacts_before)
        analysis.notices = notices + analysis.notices
        return analysis

    def _settle_script(self, analysis: Analysis, text: str, context: SuggestContext) -> None:
        """A Chinese complaint written only with characters common to both scripts gets the CRM's
        language, or the configured default script."""
        from copilot.text.language import script_is_ambiguous

        if context.language and (context.language == "en") == (analysis.language == "en"):
            analysis.reply_language = context.language
        elif analysis.language in ("zh-Hant", "zh-Hans") and script_is_ambiguous(text):
            analysis.reply_language = self.settings.default_chinese_script
            analysis.notices.append(f"the script cannot be told from the text: replying in {analysis.reply_language}")

    def _prepare(self, complaint: str) -> tuple[str, list[str]]:
        if not isinstance(complaint, str) or not complaint.strip():
            raise ComplaintError("the complaint is empty: paste the customer's message")
        limit = self.settings.max_complaint_chars
        if len(complaint) <= limit:
            return complaint, []
        head, tail = complaint[: limit * 3 // 4], complaint[-(limit // 4) :]
        note = (
            f"the complaint is {len(complaint):,} characters; the start and the end ({limit:,} in all) were read, "
            "the middle was left out"
        )
        return f"{head}\n…\n{tail}", [note]

    def suggest(self, complaint: str, context: SuggestContext | None = None, *, client: str | None = None) -> Suggestion:
        """Analyse, retrieve, draft three texts, check each and fix what the checker flags; log it."""
        context = context or SuggestContext()
        suggestion = self._suggest(complaint, context)
        self.audit.record_suggestion(suggestion, complaint, context, client=client)
        return suggestion

    def _suggest(self, complaint: str, context: SuggestContext, live: LiveContext | None = None) -> Suggestion:
        from copilot.drafting import DRAFT_KINDS

        plan = self._plan(complaint, context, live)
        t = time.perf_counter()
        llm_texts: dict[str, tuple[str, list[Passage]]] = {}
        pii: dict[str, str] = {}
        if self.llm is not None:
            llm_texts, pii = self._llm_texts(self.llm, plan)
        drafts = []
        for kind in DRAFT_KINDS:
            if kind in llm_texts:
                body, cited = llm_texts[kind]
                drafts.append(self._finish(kind, body, "llm", cited or plan.by_kind[kind], plan, pii))
            else:
                drafts.append(self._finish(kind, self._compose(kind, plan), "composer", plan.by_kind[kind], plan))
        plan.timings["drafting"] = (time.perf_counter() - t) * 1000
        return self._assemble(plan, drafts)

    def _compose(self, kind: str, plan: _Plan) -> str:
        context = plan.context
        return self.composer.compose(kind, plan.text, plan.analysis, plan.category, context.level, context.channel,  # type: ignore[arg-type]
                                     ledger=plan.ledger)

    def _assemble(self, plan: _Plan, drafts: list) -> Suggestion:
        self.metrics["suggestions"] += 1
        plan.timings["total"] = (time.perf_counter() - plan.started) * 1000
        return Suggestion(
            analysis=plan.analysis,
            passages=plan.passages,
            drafts=drafts,
            engine="llm" if self.llm is not None else "composer",
            notices=plan.notices,
            timings_ms={k: round(v, 1) for k, v in plan.timings.items()},
            policy=plan.category.key if plan.category else None,
            conversation_id=plan.live.conversation_id if plan.live else None,
        )

    def _plan(self, complaint: str, context: SuggestContext, live: LiveContext | None) -> _Plan:
        """Everything before drafting: the analysis (refined by the LLM if there is one) and the passages."""
        from copilot.drafting import DRAFT_KINDS
        from copilot.drafting.citations import GUIDANCE_QUERIES, unique

        timings: dict[str, float] = {}
        started = time.perf_counter()
        text, notices = self._prepare(complaint)
        analysis = self.analyzer.analyze(text, context.contacts_before)
        analysis.notices = notices + analysis.notices
        self._settle_script(analysis, text, context)
        if live is not None:
            analysis.anger = live.anger  # the reply answers the customer's latest turn
        engine = self.llm
        if engine is not None:
            from copilot.drafting.llm import LLMError
            from copilot.drafting.llm_drafter import refine_analysis

            try:
                analysis = refine_analysis(engine, mask_with_map(text)[0], analysis, self.policies)
            except LLMError as exc:
                notices.append(f"the LLM could not refine the analysis ({exc.reason}); the rules' reading is used")
        timings["analysis"] = (time.perf_counter() - started) * 1000
        lang = analysis.reply_language
        category = self.policies.category(context.policy) if context.policy else None
        if category is None and analysis.category is not None:
            category = self.policies.category(f"{analysis.category.domain}/{analysis.category.category}")
        if analysis.injection:
            notices.append("the complaint contains instructions aimed at the assistant; they were treated as text")

        t = time.perf_counter()
        passages: list[Passage] = []
        by_kind: dict[str, list[Passage]] = {k: [] for k in DRAFT_KINDS}
        query = live.query if live is not None and live.query else text
        try:
            case = self.search_knowledge(query[:1500], k=3, filters=SearchFilters(kind=["guidance"]))
            policy_hits = self._policy_passages(query, category, lang) if category is not None else []
            for kind in DRAFT_KINDS:
                targeted = self.search_knowledge(
                    GUIDANCE_QUERIES[kind][lang], k=1, filters=SearchFilters(kind=["guidance"], language=[_guidance_lang(lang)])
                )
                by_kind[kind] = targeted + case[:1] + (policy_hits[:1] if kind != "empathetic_reply" else [])
            passages = unique(case + policy_hits + [p for ps in by_kind.values() for p in ps])
            # a knowledge passage is data too: one that carries instructions is left out and reported
            tainted = {p.chunk_id for p in passages if self.analyzer.injection_in(p.text)}
            if tainted:
                notices.append(f"{len(tainted)} knowledge passage(s) contain instructions aimed at the assistant; they were left out")
                passages = [p for p in passages if p.chunk_id not in tainted]
                by_kind = {k: [p for p in ps if p.chunk_id not in tainted] for k, ps in by_kind.items()}
        except (IndexMissing, StoreUnavailable) as exc:
            notices.append(f"no knowledge passages: {exc}")
        timings["retrieval"] = (time.perf_counter() - t) * 1000
        return _Plan(text, context, live, analysis, category, lang, passages, by_kind, notices, timings, started)

    # ---------------------------------------------------------------- streaming

    def stream_suggest(self, complaint: str, context: SuggestContext | None = None, *, client: str | None = None):
        """Like `suggest`, as events: each draft token by token (LLM) or sentence by sentence (composer), the
        checker's findings as each sentence completes, each finished draft, then the whole suggestion."""
        return self._stream(complaint, context or SuggestContext(), None, client)

    def stream_next(self, conversation_id: str, *, client: str | None = None):
        """`suggest_next` as a stream of events (see `stream_suggest`)."""
        complaint, context, live = self._live(self.conversation(conversation_id))
        return self._stream(complaint, context, live, client)

    def _stream(self, complaint: str, context: SuggestContext, live: LiveContext | None, client: str | None):
        from copilot.drafting import DRAFT_KINDS
        from copilot.drafting.streaming import StreamEvent, checked_stream, sentence_pieces

        plan = self._plan(complaint, context, live)  # errors in the complaint surface before the first event

        def events():
            yield StreamEvent(type="start", message=plan.lang)
            t = time.perf_counter()
            drafts = []
            masked, mapping = mask_with_map(plan.prompt_text)
            check_args = {"complaint": plan.text, "level": context.level, "policy": plan.category, "ledger": plan.ledger}
            for kind in DRAFT_KINDS:
                engine_name, body = "composer", None
                if self.llm is not None:
                    from copilot.drafting.llm import LLMError
                    from copilot.drafting.llm_drafter import in_script, stream_draft

                    try:
                        pieces = stream_draft(self.llm, kind, masked, plan.analysis, plan.category, context.level, plan.passages, plan.ledger)
                        for item in checked_stream(kind, (restore(p, mapping) for p in pieces),
                                                   lambda text: self.check(text, plan.lang, **check_args)):
                            if isinstance(item, str):
                                body = in_script(item, plan.lang)
                            else:
                                yield item
                        if not (body or "").strip():
                            raise LLMError("invalid_output", "empty answer")
                        engine_name = "llm"
                    except LLMError as exc:
                        self.metrics["llm_fallbacks"] += 1
                        body = None
                        note = f"the LLM's {kind} was not usable ({exc.reason}): the composer wrote it"
                        plan.notices.append(note)
                        yield StreamEvent(type="notice", kind=kind, message=note)
                if body is None:
                    body = self._compose(kind, plan)
                    for item in checked_stream(kind, sentence_pieces(body), lambda text: self.check(text, plan.lang, **check_args)):
                        if not isinstance(item, str):
                            yield item
                draft = self._finish(kind, body, engine_name, plan.by_kind[kind], plan, mapping)
                drafts.append(draft)
                yield StreamEvent(type="draft", kind=kind, draft=draft)
            plan.timings["drafting"] = (time.perf_counter() - t) * 1000
            suggestion = self._assemble(plan, drafts)
            self.audit.record_suggestion(suggestion, complaint, context, client=client)
            yield StreamEvent(type="done", suggestion=suggestion)

        return events()

    def _llm_texts(self, engine, plan: _Plan) -> tuple[dict[str, tuple[str, list[Passage]]], dict[str, str]]:
        """The LLM's three drafts with the passages they cite; {} (and a notice) when the LLM fails."""
        from copilot.drafting.llm import LLMError
        from copilot.drafting.llm_drafter import in_script, llm_drafts

        analysis, notices = plan.analysis, plan.notices
        # personal data never leaves for the LLM: placeholders go out, the originals come back in the drafts
        masked, mapping = mask_with_map(plan.prompt_text)
        try:
            out, labelled = llm_drafts(engine, masked, analysis, plan.category, plan.context.level, plan.passages, plan.ledger)
        except LLMError as exc:
            self.metrics["llm_fallbacks"] += 1
            notices.append(f"the LLM was not usable ({exc.reason}): the composer wrote the drafts")
            return {}, mapping
        texts: dict[str, tuple[str, list[Passage]]] = {}
        for kind in ("empathetic_reply", "expectation_lowering", "compensation"):
            draft = getattr(out, kind)
            try:
                body = restore(in_script(draft.text, analysis.reply_language), mapping)
            except LLMError as exc:
                self.metrics["llm_fallbacks"] += 1
                notices.append(f"the LLM's {kind} was not usable ({exc.reason}): the composer wrote it")
                continue
            cited = [labelled[c] for c in draft.citations if c in labelled]  # citations must point at passages shown
            texts[kind] = (body, cited)
        return texts, mapping

    def _finish(self, kind, body, engine_name, cited, plan: _Plan, pii=None):
        """Check a draft; an LLM draft gets up to two rewrite rounds with the findings, then the rule fix."""
        from copilot.drafting import Draft
        from copilot.drafting.citations import cite

        complaint, category, context, lang = plan.text, plan.category, plan.context, plan.lang
        args = {"complaint": complaint, "level": context.level, "policy": category, "ledger": plan.ledger}
        check = self.check(body, lang, **args)
        fixed_by = "none"
        if check.violations and engine_name == "llm" and self.llm is not None:
            from copilot.drafting.llm import LLMError
            from copilot.drafting.llm_drafter import llm_rewrite

            for _ in range(2):
                try:
                    masked_body, mapping = mask_with_map(body)
                    mapping = (pii or {}) | mapping
                    rewritten = llm_rewrite(self.llm, masked_body, check, category, context.level, lang, redact=mapping)
                    body = restore(rewritten, mapping)
                except LLMError:
                    break
                self.metrics["llm_rewrites"] += 1
                check = self.check(body, lang, **args)
                fixed_by = "llm"
                if not check.violations:
                    break
        if check.violations:
            fixed = self.fix(body, lang, **args)
            body, check, fixed_by = fixed.text, fixed.check, "rules"
            self.metrics["rule_fixes"] += 1
        return Draft(kind=kind, language=lang, text=body, engine=engine_name, citations=cite(cited), check=check, fixed_by=fixed_by)

    # ---------------------------------------------------------------- checking

    def check(
        self,
        text: str,
        language: str | None = None,
        *,
        complaint: str | None = None,
        level: Level = "agent",
        policy: PolicyCategory | str | None = None,
        ledger: Ledger | None = None,
    ) -> CheckResult:
        """Check a draft or the agent's own text against the "no excuses, no blame" rules (and, with a
        conversation's ledger, against the promises already made)."""
        return self.checker.check(text, language, complaint=complaint, level=level, policy=policy, ledger=ledger)

    def fix(
        self,
        text: str,
        language: str | None = None,
        *,
        complaint: str | None = None,
        level: Level = "agent",
        policy: PolicyCategory | str | None = None,
        ledger: Ledger | None = None,
    ) -> FixResult:
        """Rewrite the flagged spans deterministically (phrasebook) and re-check until clean."""
        return self.fixer.fix(text, language, complaint=complaint, level=level, policy=policy, ledger=ledger)

    def check_final(
        self,
        text: str,
        language: str | None = None,
        *,
        complaint: str | None = None,
        level: Level = "agent",
        policy: PolicyCategory | str | None = None,
        suggestion_id: str | None = None,
        draft_kind: str | None = None,
        client: str | None = None,
    ) -> CheckResult:
        """Check the text the agent is about to send, and log it with its result."""
        result = self.check(text, language, complaint=complaint, level=level, policy=policy)
        self.audit.record_check(text, result, final=True, suggestion_id=suggestion_id, draft_kind=draft_kind, client=client)
        return result

    def feedback(self, feedback: Feedback, *, client: str | None = None) -> dict:
        """Record the agent's verdict on a draft (and, if given, check and log the text they finally used)."""
        if not self.audit.suggestion_exists(feedback.suggestion_id):
            raise UnknownSuggestion(f"no suggestion with id {feedback.suggestion_id!r}: quote the id a suggestion returned")
        result = None
        edited = False
        if feedback.final_text:
            result = self.check_final(feedback.final_text, suggestion_id=feedback.suggestion_id, draft_kind=feedback.draft_kind, client=client)
            from copilot.privacy import mask_pii

            edited = mask_pii(feedback.final_text) != self.audit.draft_text(feedback.suggestion_id, feedback.draft_kind)
        feedback_id = self.audit.record_feedback(feedback, client=client, edited=edited)
        return {"id": feedback_id, "edited": edited, "final_check": result.model_dump() if result else None}

    def analytics(self) -> dict[str, list[dict]]:
        """Suggestions per day, violation rate by rule, acceptance and edit rates, top categories."""
        from copilot.audit.store import analytics

        return analytics(self.audit)

    # ---------------------------------------------------------------- conversations

    @cached_property
    def conversation_store(self):
        from copilot.conversation.store import ConversationStore

        return ConversationStore(self.settings.conversations_path)

    @cached_property
    def conversation_reader(self):
        from copilot.analysis import Analyzer
        from copilot.conversation.reader import ConversationReader

        # per-turn readings use the lexicons only: a retrieval call per turn would slow every refresh
        analyzer = Analyzer(self.settings.knowledge_dir / "analysis" / "signals.yaml", self.policies)
        return ConversationReader(analyzer, self.checker, self.settings.default_chinese_script)

    def start_conversation(self, start: ConversationStart | None = None, *, client: str | None = None) -> Conversation:
        """Open a conversation the copilot will follow turn by turn."""
        import uuid

        start = start or ConversationStart()
        if start.policy and self.policies.category(start.policy) is None:
            raise ComplaintError(f"unknown policy {start.policy!r}: use domain/category, e.g. ecommerce/late_delivery")
        conversation_id = start.id or uuid.uuid4().hex
        self.conversation_store.create(conversation_id, start, client=client)
        return self.conversation(conversation_id)

    def add_message(self, conversation_id: str, message: MessageIn, *, client: str | None = None) -> Conversation:
        """Append a customer or agent turn; returns the conversation as it now reads. An agent turn is what
        was sent: its check goes to the audit log like any final text."""
        from datetime import UTC, datetime

        if not message.text.strip():
            raise ComplaintError(f"the {message.role} turn is empty: send the text that was said")
        if not self.conversation_store.exists(conversation_id):
            raise UnknownConversation(f"no conversation with id {conversation_id!r}: start one with POST /v1/conversations")
        index = self.conversation_store.append(conversation_id, message, message.at or datetime.now(UTC))
        conversation = self.conversation(conversation_id)
        turn = next((t for t in conversation.turns if t.index == index), None)
        if turn is not None and turn.check is not None:
            self.audit.record_check(turn.text, turn.check, final=True, client=client)
        return conversation

    def conversation(self, conversation_id: str) -> Conversation:
        """The conversation with each turn read, the trend, alerts and the commitments ledger."""
        count = self.conversation_store.turn_count(conversation_id)
        cached = self._read_cache.get(conversation_id)
        if cached is not None and cached[0] == count:
            return cached[1]
        stored = self.conversation_store.load(conversation_id)
        if stored is None:
            raise UnknownConversation(f"no conversation with id {conversation_id!r}: start one with POST /v1/conversations")
        created, start, turns = stored
        conversation = self.conversation_reader.read(conversation_id, created, start, turns)
        self._read_cache[conversation_id] = (len(turns), conversation)
        return conversation

    def delete_conversation(self, conversation_id: str) -> None:
        """Forget a conversation: its turns are the only place the customer's words are kept unmasked."""
        if not self.conversation_store.delete(conversation_id):
            raise UnknownConversation(f"no conversation with id {conversation_id!r}")
        self._read_cache.pop(conversation_id, None)

    def _live(self, conversation: Conversation) -> tuple[str, SuggestContext, LiveContext]:
        from copilot.conversation.reader import ledger_of
        from copilot.conversation.transcript import transcript

        customer = conversation.customer_turns
        if not customer:
            raise ComplaintError("the conversation has no customer turn yet: add the customer's message first")
        complaint = conversation.customer_text
        start = conversation.start
        context = SuggestContext(channel=start.channel, contacts_before=start.contacts_before, level=start.level,
                                 language=conversation.language, policy=start.policy or conversation.policy)
        from copilot.drafting.llm import LLMEngine

        # only the LLM reads the transcript; the composer works from the analysis and the ledger
        text = "" if self.llm is None else transcript(
            conversation, LLMEngine.count_tokens, self.settings.conversation_tokens, self.settings.conversation_turns)
        last = customer[-1].reading
        # the first turn says what the case is about, the latest what the customer wants now; searching with the
        # whole conversation would cost an embedding of every turn and blur both
        query = customer[0].text[:700] + ("\n" + customer[-1].text[:500] if len(customer) > 1 else "")
        live = LiveContext(conversation_id=conversation.id, ledger=ledger_of(conversation), transcript=text,
                           anger=last.anger if last else 0, query=query)
        return complaint, context, live

    def suggest_next(self, conversation_id: str, *, client: str | None = None) -> Suggestion:
        """Three drafts for the agent's next turn, from the whole conversation and consistent with its ledger."""
        complaint, context, live = self._live(self.conversation(conversation_id))
        suggestion = self._suggest(complaint, context, live)
        self.audit.record_suggestion(suggestion, complaint, context, client=client)
        return suggestion

    def check_turn(self, conversation_id: str, text: str, language: str | None = None) -> CheckResult:
        """Check text the agent is about to send in a conversation: the rules, the policy and the ledger."""
        from copilot.conversation.reader import ledger_of

        conversation = self.conversation(conversation_id)
        return self.check(text, language or conversation.language, complaint=conversation.customer_text or None,
                          level=conversation.start.level, policy=conversation.policy, ledger=ledger_of(conversation))

    @cached_property
    def rewriter(self):
        from copilot.drafting.rewrite import Rewriter, load_controls

        lists = load_controls(self.settings.knowledge_dir / "rewrite" / "controls.yaml")
        return Rewriter(lists, lambda text, lang: self.check(text, lang).moves_present)

    def rewrite(self, request: RewriteRequest) -> RewriteResult:
        """Apply one rewrite control to a draft or the agent's own text, and re-check the result.

        The LLM (when configured) does every control but the script switch, which OpenCC does exactly; the
        composer does length, warmth, register, plain words and script, and says when a control needs the LLM.
        Raises RewriteUnavailable for what cannot be done, CheckError for text that cannot be checked."""
        from copilot.checking import CheckError
        from copilot.drafting.rewrite import RewriteResult, script_target
        from copilot.text import detect_language

        text = request.text
        if not text.strip():
            raise CheckError("the text is empty: paste the draft or the reply you want rewritten")
        lang = request.language or detect_language(text)
        lang = lang if lang in ("zh-Hant", "zh-Hans", "en") else "en"
        target = lang
        if request.control == "script":
            target = script_target(lang, request.target)
        elif request.control == "language":
            if request.target is None or request.target == lang:
                from copilot.drafting.rewrite import RewriteUnavailable

                raise RewriteUnavailable("say which language to switch to: target zh-Hant, zh-Hans or en (not the text's own)")
            target = request.target
        ledger, policy, level, complaint = None, request.policy, request.level, None
        if request.conversation_id:
            from copilot.conversation.reader import ledger_of

            conversation = self.conversation(request.conversation_id)
            ledger, policy, level = ledger_of(conversation), policy or conversation.policy, conversation.start.level
            complaint = conversation.customer_text or None
        notices: list[str] = []
        out, engine_name = None, "composer"
        if self.llm is not None and request.control != "script":
            from copilot.drafting.llm import LLMError
            from copilot.drafting.llm_drafter import llm_rewrite_control

            masked, mapping = mask_with_map(text)
            try:
                out, engine_name = restore(llm_rewrite_control(self.llm, masked, request.control, lang, target), mapping), "llm"
            except LLMError as exc:
                self.metrics["llm_fallbacks"] += 1
                notices.append(f"the LLM was not usable ({exc.reason})")
        if out is None:
            from copilot.drafting.rewrite import RewriteUnavailable

            try:
                out, more = self.rewriter.apply(text, request.control, lang, target)
            except RewriteUnavailable as exc:
                if notices:  # the LLM was configured but failed: say so rather than "configure an LLM"
                    raise RewriteUnavailable(f"{notices[0]}, and the composer cannot do it: try again in a moment") from exc
                raise
            notices += more
        args = {"complaint": complaint, "level": level, "policy": policy, "ledger": ledger}
        check = self.check(out, target, **args)
        fixed_by = "none"
        if check.violations and engine_name == "llm":
            fixed = self.fix(out, target, **args)
            out, check, fixed_by = fixed.text, fixed.check, "rules"
        return RewriteResult(text=out, original=text, control=request.control, language=target, engine=engine_name,  # type: ignore[arg-type]
                             check=check, fixed_by=fixed_by, notices=notices)  # type: ignore[arg-type]

    # ---------------------------------------------------------------- escalation brief

    @cached_property
    def brief_lists(self):
        from copilot.conversation.brief import load_brief_lists

        return load_brief_lists(self.settings.knowledge_dir / "brief" / "brief.yaml")

    def escalation_brief(self, conversation_id: str, language: str | None = None) -> Brief:
        """A brief for the supervisor taking over, in `language` (default: the conversation's)."""
        from copilot.conversation.brief import compose_brief
        from copilot.drafting.citations import cite

        conversation = self.conversation(conversation_id)
        complaint, context, live = self._live(conversation)
        customer_lang = conversation.language or "en"
        lang = language or customer_lang
        if lang not in self.brief_lists:
            raise ComplaintError(f"no brief in {lang!r}: choose zh-Hant, zh-Hans or en")
        analysis = self.analyzer.analyze(complaint, context.contacts_before)
        category = self.policies.category(conversation.policy) if conversation.policy else None
        opening = self._opening_line(analysis, category, customer_lang, live.ledger)
        brief = compose_brief(conversation, analysis, category, self.brief_lists[lang], lang, opening)
        try:
            kinds = " ".join(filter(None, [analysis.customer_type, analysis.hard_type]))
            passages = self.search_knowledge(f"{kinds} escalated complaint supervisor approach", k=3,
                                             filters=SearchFilters(kind=["guidance"], language=[_guidance_lang(lang)]))
            if category is not None:
                passages += self._policy_passages(complaint, category, _guidance_lang(lang))[:1]
            brief.citations = [c.model_dump() for c in cite(passages)]
        except (IndexMissing, StoreUnavailable) as exc:
            brief.notices.append(f"no knowledge passages: {exc}")
        if self.llm is not None:
            self._llm_brief(brief, live, customer_lang, category, context)
        return brief

    def _opening_line(self, analysis, category, lang: str, ledger: Ledger) -> str:
        slots = self.composer.slots(analysis.model_copy(update={"reply_language": lang}), category, lang)
        for variant in range(8):
            line = self.phrasebook.fill(lang, "supervisor_opening", slots, variant=variant)
            if line and not self.check(line, lang, ledger=ledger).violations:
                return line
        return self.phrasebook.fill(lang, "own", slots) or ""

    def _llm_brief(self, brief: Brief, live: LiveContext, customer_lang: str, category, context) -> None:
        """The LLM rewrites the narrative sections; facts stay as composed. On failure the composer's stand."""
        from copilot.drafting.llm import LLMError
        from copilot.drafting.llm_drafter import llm_brief

        facts = "\n".join(f"{s.title}: {s.text}" for s in brief.sections if s.key in ("promised", "policy_allows", "facts", "trend"))
        masked, mapping = mask_with_map(live.transcript)
        try:
            out = llm_brief(self.llm, masked, facts, brief.language, customer_lang)
        except LLMError as exc:
            self.metrics["llm_fallbacks"] += 1
            brief.notices.append(f"the LLM was not usable ({exc.reason}): the composer wrote the brief")
            return
        opening = restore(out.opening_line, mapping)
        check = self.check(opening, customer_lang, level=context.level, policy=category, ledger=live.ledger)
        if check.violations:
            opening = self.fix(opening, customer_lang, level=context.level, policy=category, ledger=live.ledger).text
        values = {"what_happened": restore(out.what_happened, mapping), "customer_wants": restore(out.customer_wants, mapping),
                  "approach": restore(out.approach, mapping), "opening_line": opening}
        for section in brief.sections:
            if section.key in values and values[section.key].strip():
                section.text = values[section.key]
        brief.opening_line, brief.engine = opening, "llm"

    # ---------------------------------------------------------------- knowledge

    @property
    def index(self) -> KnowledgeIndex:
        """The knowledge index, opened on first use (raises IndexMissing if it was never built)."""
        if self._index is None:
            self._index = KnowledgeIndex(self.settings)
        return self._index

    def index_knowledge(self, paths: Sequence[Path | str] = (), progress: ProgressFn | None = None) -> IndexReport:
        """Index the shipped knowledge base (no paths) or the given folders/files.

        Re-running is cheap: only new or changed chunks are embedded, and chunks whose source file
        disappeared are removed. Bad files are reported in the result and skipped.
        """
        sources = [(Path(p), str(Path(p).expanduser().resolve())) for p in paths] or [
            (self.settings.knowledge_dir, BUILTIN_SOURCE)
        ]
        documents, skipped, notices = [], [], []
        for path, source in sources:
            report = load_folder(path, source=source)
            documents.extend(report.documents)
            skipped.extend(s.model_dump() for s in report.skipped)
            notices.extend(report.notices)
        if not documents:
            where = ", ".join(str(p) for p, _ in sources)
            raise SourceError(
                f"no readable documents in {where} (supported: .md, .txt, .html)"
                + (f"; {len(skipped)} file(s) skipped, first: {skipped[0]['path']}: {skipped[0]['reason']}" if skipped else "")
            )
        index = KnowledgeIndex(self.settings, create=True)
        result = index.update(documents, [s for _, s in sources], progress=progress)
        self._index = index
        result.skipped = skipped
        result.notices = notices + result.notices
        return result

    def search_knowledge(self, query: str, k: int = 5, filters: SearchFilters | None = None) -> list[Passage]:
        """Hybrid search over the knowledge base."""
        return self.index.search(query, k=k, filters=filters)
