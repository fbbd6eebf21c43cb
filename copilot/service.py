"""The `Copilot` service: the one object every face (API, side panel, CLI, eval runs) talks to."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from copilot.analysis.classifier import (
    ComplaintClassifier,
    example_query_text,
    load_classifier_settings,
    load_examples,
    load_vectors,
    save_vectors,
    vectors_path,
)
from copilot.analysis.models import Analysis
from copilot.analysis.topic import ReadingLexicon, load_aspects
from copilot.audit import Feedback
from copilot.checking import Checker, CheckResult, Fixer, FixResult
from copilot.checking.learned import Example
from copilot.checking.ledger import Ledger
from copilot.conversation.models import Brief, Conversation, ConversationStart, MessageIn
from copilot.drafting.citations import GUIDANCE_QUERIES, unique
from copilot.drafting.composer import Composer
from copilot.drafting.models import DRAFT_KINDS, DraftRequest, LiveContext, SuggestContext, Suggestion
from copilot.drafting.pipeline import DraftingPipeline, Plan
from copilot.drafting.replybook import load_replybook
from copilot.drafting.rewrite import RewriteRequest, RewriteResult
from copilot.drafting.streaming import StreamEvent
from copilot.knowledge.loader import SourceError, load_folder
from copilot.knowledge.phrasebook import Phrasebook, load_phrasebook
from copilot.knowledge.policies import Level, PolicyBook, PolicyCategory, load_policies
from copilot.privacy import mask_with_map, restore
from copilot.retrieval import (
    IndexMissing,
    IndexReport,
    KnowledgeIndex,
    Passage,
    SearchAnswer,
    SearchFilters,
    StoreUnavailable,
)
from copilot.retrieval.embeddings import embedder_slug
from copilot.retrieval.expansion import load_lexicon
from copilot.retrieval.fusion import load_fusion
from copilot.retrieval.index import ProgressFn
from copilot.retrieval.lexical import normalise
from copilot.settings import Settings, get_settings
from copilot.stores import Stores
from copilot.text.language import script_is_ambiguous

BUILTIN_SOURCE = "builtin:knowledge"
_INVISIBLE = str.maketrans("", "", "\u200b\u200c\u200d\u2060\ufeff\u00ad")


class ComplaintError(ValueError):
    """The complaint cannot be used as given."""


class UnknownSuggestion(LookupError):
    """Feedback names a suggestion that was never made."""


class UnknownConversation(LookupError):
    """No conversation has this id."""


def _guidance_lang(lang: str) -> str:
    # guidance ships in Traditional Chinese and English; Simplified queries match it after T-to-S
    return "en" if lang == "en" else "zh-Hant"


class Copilot:
    """Owns the pipeline: knowledge -> retrieval -> analysis -> drafting -> checking."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._index: KnowledgeIndex | None = None
        self.stores = Stores(self.settings)
        self._read_cache: dict[str, tuple[tuple[str, int], Conversation]] = {}
        self._guidance_cache: dict[tuple[str, str, int], list[Passage]] = {}
        self.metrics: dict[str, int] = {"suggestions": 0, "llm_fallbacks": 0, "llm_rewrites": 0, "rule_fixes": 0}

    # ---------------------------------------------------------------- content

    @cached_property
    def policies(self) -> PolicyBook:
        return load_policies(self.settings.knowledge_dir / "policies")

    @cached_property
    def phrasebook(self) -> Phrasebook:
        return load_phrasebook(self.settings.knowledge_dir / "phrasebook")

    def approved_phrasing(self) -> list[Example]:
        """The clauses of the phrasebook and of the composer's sentences, with an amount, a time and a remedy in
        their slots (other slots left out): house style the classifier learns as compliant, so that it never
        vetoes the project's own sentences (it once took the sign-off "Customer Care Team" for blame)."""
        from copilot.checking.roles import clause_bounds

        filled = {
            "zh-Hant": {"amount": "30 元", "deadline": "今天下午五點前", "remedy": "一張 30 元折價券", "approver": "店長"},
            "zh-Hans": {"amount": "30 元", "deadline": "今天下午五点前", "remedy": "一张 30 元优惠券", "approver": "店长"},
            "en": {"amount": "CNY 30", "deadline": "by 5 pm today", "remedy": "a CNY 30 credit", "approver": "the team lead"},
        }
        out = []
        for lang, moves in [*self.phrasebook.moves.items(), *self.composer.replies.moves.items()]:
            for phrases in moves.values():
                for phrase in phrases:
                    text = re.sub(r"\{([a-z_]+)\}", lambda m, lang=lang: filled.get(lang, {}).get(m.group(1), " "), phrase)
                    out += [Example(text=text[s:e], lang=lang, category="none") for s, e in clause_bounds(text, lang)]
        return out

    @cached_property
    def checker(self) -> Checker:
        from copilot.checking.calibration import load_calibration
        from copilot.checking.learned import ClauseClassifier
        from copilot.checking.roles import load_roles
        from copilot.checking.rules import load_rules

        rules = self.settings.knowledge_dir / "rules"
        classifier = (
            ClauseClassifier.from_folder(rules / "examples", cache=self.settings.models_dir, compliant=self.approved_phrasing())
            if self.settings.learned_checks
            else None
        )
        return Checker(
            load_rules(rules),
            self.policies,
            classifier,
            roles=load_roles(rules / "roles.yaml"),
            calibration=load_calibration(rules / "calibration.yaml"),
        )

    @cached_property
    def fixer(self) -> Fixer:
        return Fixer(self.checker, self.phrasebook)

    @cached_property
    def reading(self) -> ReadingLexicon:
        folder = self.settings.knowledge_dir / "analysis"
        return ReadingLexicon(folder / "reading.yaml", load_aspects(folder / "aspects.yaml"))

    @cached_property
    def classifier(self) -> ComplaintClassifier:
        """Policy category and problem type by the nearest labelled examples (dense vectors when the index
        has them, lexical neighbours otherwise)."""
        folder = self.settings.knowledge_dir / "analysis"
        return ComplaintClassifier(load_examples(folder / "examples"), self.policies,
                                   load_classifier_settings(folder / "classifier.yaml"), self._example_vectors())

    def _example_vectors(self) -> dict[str, np.ndarray]:
        try:
            embedder = self.index.embedder
        except (IndexMissing, StoreUnavailable):
            return {}
        if embedder is None:
            return {}
        slug = embedder_slug(embedder)
        shipped = load_vectors(self.settings.knowledge_dir / "analysis" / "examples" / f"vectors-{slug}.npz")
        return shipped | load_vectors(vectors_path(self.settings.data_dir, slug))

    def _vector_of(self, text: str) -> list[float] | None:
        """The complaint's query vector, the very one retrieval computes for it (cached by the embedder)."""
        if not self.classifier.dense:
            return None
        try:
            embedder = self.index.embedder
            return embedder.get_query_embedding(normalise(example_query_text(text))) if embedder is not None else None
        except (IndexMissing, StoreUnavailable):
            return None

    @cached_property
    def analyzer(self):
        from copilot.analysis import Analyzer

        return Analyzer(self.settings.knowledge_dir / "analysis" / "signals.yaml", self.policies,
                        classifier=self.classifier, reading=self.reading, vector_of=self._vector_of)

    def _policy_passages(self, text: str, category: PolicyCategory, lang: str) -> list[Passage]:
        """Passages of the policy that applies, the section about this category first."""
        name = category.names.get(lang, category.names["en"])
        hits = self.search_knowledge(f"{name} {text[:40]}", k=5, filters=SearchFilters(kind=["policy"], domain=[category.domain]))
        own = [h for h in hits if any(n and n in h.section for n in category.names.values())]
        return (own + [h for h in hits if h not in own])[:2]

    @cached_property
    def llm(self):
        """The LLM engine when an endpoint is configured, else None (the composer drafts)."""
        if not self.settings.llm_base_url:
            return None
        from copilot.drafting.llm import LLMEngine

        return LLMEngine(self.settings)

    @cached_property
    def adjudicator(self):
        """The LLM's second opinion on the checker's findings, when an LLM is configured (else None)."""
        if self.llm is None or not self.settings.llm_adjudication:
            return None
        from copilot.checking.adjudication import Adjudicator

        return Adjudicator(self.llm, self.checker.category_rule, self.checker.calibration)

    def _adjudicated(self, text: str, result: CheckResult, *, always: bool = False) -> CheckResult:
        """One LLM call for a draft with findings to judge, or (`always`) for a final check, which may also
        surface what the rules missed; rules alone without an LLM."""
        if self.adjudicator is None or not (always or self.adjudicator.judged(result)):
            return result
        return self.adjudicator.adjudicate(text, result)

    @cached_property
    def composer(self) -> Composer:
        replies = load_replybook(self.settings.knowledge_dir / "drafting")
        return Composer(replies, self.phrasebook, is_clean=lambda text, lang: not self.checker.check(text, lang).violations)

    @cached_property
    def drafting(self) -> DraftingPipeline:
        return DraftingPipeline(
            self.composer,
            check=lambda text, r: self.check(text, r.analysis.reply_language, complaint=r.complaint, level=r.level,
                                             policy=r.category, ledger=r.ledger),
            fix=lambda text, r: self.fix(text, r.analysis.reply_language, complaint=r.complaint, level=r.level,
                                         policy=r.category, ledger=r.ledger),
            llm=self.llm, metrics=self.metrics, adjudicate=self._adjudicated)

    @property
    def audit(self):
        return self.stores.audit

    # ---------------------------------------------------------------- suggesting

    def analyze(self, complaint: str, context: SuggestContext | None = None) -> Analysis:
        """Read a complaint (language, needs, anger, type, escalation, what it is about, facts)."""
        text = self._prepare(complaint)
        analysis = self.analyzer.analyze(text, (context or SuggestContext()).contacts_before)
        self._settle_script(analysis, text, context or SuggestContext())
        return analysis

    def _settle_script(self, analysis: Analysis, text: str, context: SuggestContext) -> None:
        """A Chinese complaint written only with characters common to both scripts gets the CRM's
        language, or the configured default script."""
        if context.language and (context.language == "en") == (analysis.language == "en"):
            self.analyzer.set_reply_language(analysis, context.language, text)
        elif analysis.language in ("zh-Hant", "zh-Hans") and script_is_ambiguous(text):
            self.analyzer.set_reply_language(analysis, self.settings.default_chinese_script, text)
            analysis.notices.append(f"the script cannot be told from the text: replying in {analysis.reply_language}")

    def _prepare(self, complaint: str, conversation: bool = False) -> str:
        """The complaint as drafting reads it. A pasted complaint over the limit is refused with the limit
        named; a conversation's customer turns, which grow turn by turn, are read at the start and the end."""
        if not isinstance(complaint, str) or not complaint.translate(_INVISIBLE).strip():
            raise ComplaintError("the complaint is empty: paste the customer's message")
        limit = self.settings.max_complaint_chars
        if len(complaint) <= limit:
            return complaint
        if conversation:
            return f"{complaint[: limit // 4]}\n…\n{complaint[-(limit * 3 // 4) :]}"
        raise ComplaintError(
            f"the complaint is {len(complaint):,} characters, over the limit of {limit:,} "
            "(COPILOT_MAX_COMPLAINT_CHARS): paste the part that says what happened"
        )

    def suggest(self, complaint: str, context: SuggestContext | None = None, *, client: str | None = None) -> Suggestion:
        """Analyse, retrieve, draft three texts, check each and fix what the checker flags; log it."""
        context = context or SuggestContext()
        suggestion = self.drafting.drain(self.drafting.run(self._plan(complaint, context, None)))
        self.audit.record_suggestion(suggestion, complaint, context, client=client)
        return suggestion

    def stream_suggest(self, complaint: str, context: SuggestContext | None = None, *, client: str | None = None) -> Iterator[StreamEvent]:
        """Like `suggest`, as events: each draft as it is written (token by token with an LLM, sentence by
        sentence from the composer), the checker's findings as each sentence completes, each finished draft,
        then the whole suggestion."""
        context = context or SuggestContext()
        return self._logged(self._plan(complaint, context, None), complaint, context, client)

    def stream_next(self, conversation_id: str, *, client: str | None = None) -> Iterator[StreamEvent]:
        """`suggest_next` as a stream of events (see `stream_suggest`)."""
        complaint, context, live = self._live(self.conversation(conversation_id))
        return self._logged(self._plan(complaint, context, live), complaint, context, client)

    def _logged(self, plan: Plan, complaint: str, context: SuggestContext, client: str | None) -> Iterator[StreamEvent]:
        # the plan is made before the first event, so errors in the complaint surface at once
        for event in self.drafting.run(plan, live=True):
            if event.type == "done" and event.suggestion is not None:
                self.audit.record_suggestion(event.suggestion, complaint, context, client=client)
            yield event

    def _plan(self, complaint: str, context: SuggestContext, live: LiveContext | None) -> Plan:
        """Everything before drafting: the analysis (refined by the LLM if there is one) and the passages."""
        plan = Plan(request=DraftRequest(complaint="", analysis=Analysis(language="en", reply_language="en")))
        text = self._prepare(complaint, conversation=live is not None)
        analysis = self.analyzer.analyze(text, context.contacts_before)
        self._settle_script(analysis, text, context)
        if live is not None:
            analysis.anger = live.anger  # the reply answers the customer's latest turn
        if self.llm is not None and not analysis.contentless:
            from copilot.drafting.llm import LLMError
            from copilot.drafting.llm_drafter import refine_analysis

            try:
                analysis = refine_analysis(self.llm, mask_with_map(text)[0], analysis, self.policies)
            except LLMError as exc:
                plan.notices.append(f"the LLM could not refine the analysis ({exc.reason}); the rules' reading is used")
        plan.timings["analysis"] = (time.perf_counter() - plan.started) * 1000
        category = self.policies.category(context.policy) if context.policy else None
        if category is None and analysis.category is not None:
            category = self.policies.category(analysis.category.key)
        if analysis.injection:
            plan.notices.append("the complaint contains instructions aimed at the assistant; they were treated as text")
        channel = context.channel if context.channel in ("chat", "email", "phone", "social") else "chat"
        plan.request = DraftRequest(complaint=text, analysis=analysis, category=category, level=context.level,
                                    channel=channel, ledger=live.ledger if live else None)  # type: ignore[arg-type]
        plan.prompt_text = live.transcript if live is not None else text
        plan.conversation_id = live.conversation_id if live is not None else None
        if not analysis.contentless:
            self._retrieve(plan, live.query if live is not None and live.query else text)
        return plan

    def warm(self) -> None:
        """Run the fixed guidance searches for every language now, so that no first suggestion pays for them
        (three query embeddings, about 120 ms); without an index there is nothing to warm."""
        try:
            for kind in DRAFT_KINDS:
                for lang in GUIDANCE_QUERIES[kind]:
                    self._guidance_for(kind, lang)
        except (IndexMissing, StoreUnavailable):
            return

    def _guidance_for(self, kind: str, lang: str) -> list[Passage]:
        """The guidance behind a kind of draft: a fixed search, so its answer is kept until the index changes."""
        key = (kind, lang, self.index.generation)
        if key not in self._guidance_cache:
            self._guidance_cache[key] = self.search_knowledge(
                GUIDANCE_QUERIES[kind][lang], k=1, filters=SearchFilters(kind=["guidance"], language=[_guidance_lang(lang)]))
        return self._guidance_cache[key]

    def _retrieve(self, plan: Plan, query: str) -> None:
        """The guidance for the case and for each draft, and the policy's own passages."""
        started = time.perf_counter()
        lang, category = plan.request.analysis.reply_language, plan.request.category
        try:
            case = self.search_knowledge(example_query_text(query), k=3, filters=SearchFilters(kind=["guidance"]))
            policy_hits = self._policy_passages(query, category, lang) if category is not None else []
            for kind in DRAFT_KINDS:
                plan.by_kind[kind] = self._guidance_for(kind, lang) + case[:1] + (policy_hits[:1] if kind != "empathetic_reply" else [])
            passages = unique(case + policy_hits + [p for ps in plan.by_kind.values() for p in ps])
            # a knowledge passage is data too: one that carries instructions is left out and reported
            tainted = {p.chunk_id for p in passages if self.analyzer.injection_in(p.text)}
            if tainted:
                plan.notices.append(f"{len(tainted)} knowledge passage(s) contain instructions aimed at the assistant; they were left out")
                passages = [p for p in passages if p.chunk_id not in tainted]
                plan.by_kind = {k: [p for p in ps if p.chunk_id not in tainted] for k, ps in plan.by_kind.items()}
            plan.passages = passages
        except (IndexMissing, StoreUnavailable) as exc:
            plan.notices.append(f"no knowledge passages: {exc}")
        plan.timings["retrieval"] = (time.perf_counter() - started) * 1000

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
        result = self._adjudicated(text, self.check(text, language, complaint=complaint, level=level, policy=policy), always=True)
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

    @property
    def conversation_store(self):
        return self.stores.conversations

    @cached_property
    def conversation_reader(self):
        from copilot.analysis import Analyzer
        from copilot.conversation.reader import ConversationReader

        # per-turn readings use lexicons and lexical neighbours only: an embedding per turn would slow every refresh
        analyzer = Analyzer(self.settings.knowledge_dir / "analysis" / "signals.yaml", self.policies, classifier=self.classifier)
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

    def add_message(self, conversation_id: str, message: MessageIn, *, client: str | None = None,
                    request_key: str | None = None) -> Conversation:
        """Append a customer or agent turn; returns the conversation as it now reads. An agent turn is what
        was sent: its check goes to the audit log like any final text. A turn sent again with the same
        `request_key` (a CRM's retry) is stored and logged once."""
        from datetime import UTC, datetime

        if not message.text.strip():
            raise ComplaintError(f"the {message.role} turn is empty: send the text that was said")
        appended = self.conversation_store.append(conversation_id, message, message.at or datetime.now(UTC), request_key)
        if appended is None:
            raise UnknownConversation(f"no conversation with id {conversation_id!r}: start one with POST /v1/conversations")
        conversation = self.conversation(conversation_id)
        turn = next((t for t in conversation.turns if t.index == appended.index), None)
        if appended.new and turn is not None and turn.check is not None:
            self.audit.record_check(turn.text, turn.check, final=True, client=client)
        return conversation

    def conversation(self, conversation_id: str) -> Conversation:
        """The conversation with each turn read, the trend, alerts and the commitments ledger."""
        version = self.conversation_store.version(conversation_id)
        cached = self._read_cache.get(conversation_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        stored = self.conversation_store.load(conversation_id)
        if stored is None:
            raise UnknownConversation(f"no conversation with id {conversation_id!r}: start one with POST /v1/conversations")
        created, start, turns = stored
        conversation = self.conversation_reader.read(conversation_id, created, start, turns)
        self._read_cache[conversation_id] = ((created.isoformat(), len(turns)), conversation)
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
        suggestion = self.drafting.drain(self.drafting.run(self._plan(complaint, context, live)))
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
            self._index = self._open_index()
        return self._index

    def _open_index(self, create: bool = False) -> KnowledgeIndex:
        folder = self.settings.knowledge_dir / "retrieval"
        return KnowledgeIndex(
            self.settings,
            create=create,
            expander=load_lexicon(folder / "lexicon.yaml"),
            fusion=load_fusion(folder / "fusion.yaml"),
        )

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
        index = self._open_index(create=True)
        result = index.update(documents, [s for _, s in sources], progress=progress)
        self._index = index
        self._embed_examples(index)
        result.skipped = skipped
        result.notices = notices + result.notices
        return result

    def _embed_examples(self, index: KnowledgeIndex) -> int:
        """Embed the labelled example complaints the classifier compares with, once: vectors shipped with
        the knowledge base or saved by an earlier run are reused. Returns how many were embedded now."""
        embedder = index.embedder
        if embedder is None:
            return 0
        slug = embedder_slug(embedder)
        examples = load_examples(self.settings.knowledge_dir / "analysis" / "examples")
        known = load_vectors(self.settings.knowledge_dir / "analysis" / "examples" / f"vectors-{slug}.npz")
        path = vectors_path(self.settings.data_dir, slug)
        saved = load_vectors(path)
        missing = [e for e in examples if e.key not in known and e.key not in saved]
        texts = [normalise(example_query_text(e.text)) for e in missing]
        # one request per batch, not one per example (1,100 examples over HTTP took two minutes one by one)
        batch = getattr(embedder, "query_batch", None)
        vectors = batch(texts) if batch is not None else [embedder.get_query_embedding(t) for t in texts]
        for example, vector in zip(missing, vectors, strict=True):
            saved[example.key] = np.asarray(vector, dtype=np.float32)
        current = {e.key for e in examples}
        if missing or not path.exists() or set(saved) - current:
            save_vectors(path, {k: v for k, v in saved.items() if k in current})
        self.__dict__.pop("classifier", None)  # rebuilt with the vectors on next use
        self.__dict__.pop("analyzer", None)
        return len(missing)

    def search_knowledge(self, query: str, k: int = 5, filters: SearchFilters | None = None) -> list[Passage]:
        """Hybrid search over the knowledge base."""
        return self.index.search(query, k=k, filters=filters)

    def explain_search(self, query: str, k: int = 5, filters: SearchFilters | None = None) -> SearchAnswer:
        """Hybrid search with its explanation: which channel found what, the expansion terms, notices."""
        return self.index.explain(query, k=k, filters=filters)
