"""Suggesting: read a complaint, retrieve what applies, draft three texts, check and fix them, log them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import cached_property

from copilot.analysis.classifier import example_query_text
from copilot.analysis.models import Analysis
from copilot.cases.checking import Checking
from copilot.cases.knowledge import Knowledge
from copilot.checking import CheckContext
from copilot.drafting.citations import GUIDANCE_QUERIES, unique
from copilot.drafting.llm import LLMError
from copilot.drafting.llm_drafter import refine_analysis
from copilot.drafting.models import (
    DRAFT_KINDS,
    Channel,
    DraftRequest,
    LiveContext,
    SuggestContext,
    Suggestion,
)
from copilot.drafting.pipeline import DraftingPipeline, Plan
from copilot.drafting.streaming import StreamEvent
from copilot.errors import InvalidInput
from copilot.parts import Parts
from copilot.privacy import mask_with_map
from copilot.retrieval import IndexMissing, Passage, SearchFilters, StoreUnavailable
from copilot.text import is_blank
from copilot.text.language import script_is_ambiguous


class ComplaintError(InvalidInput):
    """The complaint cannot be used as given."""

    code = "invalid_complaint"


# the channels drafts are written for; any other (or none) is drafted as chat
_CHANNELS: dict[str, Channel] = {"chat": "chat", "email": "email", "phone": "phone", "social": "social"}


def guidance_language(lang: str) -> str:
    # guidance ships in Traditional Chinese and English; Simplified queries match it after T-to-S
    return "en" if lang == "en" else "zh-Hant"


def _draft_context(request: DraftRequest) -> CheckContext:
    return CheckContext(complaint=request.complaint, level=request.level, policy=request.category, ledger=request.ledger)


class Suggesting:
    def __init__(self, parts: Parts, checking: Checking, knowledge: Knowledge) -> None:
        self.parts = parts
        self.checking = checking
        self.knowledge = knowledge
        self._guidance_cache: dict[tuple[str, str, int], list[Passage]] = {}

    @cached_property
    def drafting(self) -> DraftingPipeline:
        checking, parts = self.checking, self.parts
        return DraftingPipeline(
            parts.composer,
            check=lambda text, r: checking.check(text, r.analysis.reply_language, _draft_context(r)),
            fix=lambda text, r: checking.fix(text, r.analysis.reply_language, _draft_context(r)),
            llm=parts.llm, metrics=parts.metrics, adjudicate=parts.adjudicated)

    def analyze(self, complaint: str, context: SuggestContext | None = None) -> Analysis:
        """Read a complaint (language, needs, anger, type, escalation, what it is about, facts)."""
        text = self.prepare(complaint)
        analysis = self.parts.analyzer.analyze(text, (context or SuggestContext()).contacts_before)
        self._settle_script(analysis, text, context or SuggestContext())
        return analysis

    def _settle_script(self, analysis: Analysis, text: str, context: SuggestContext) -> None:
        """A Chinese complaint written only with characters common to both scripts gets the CRM's
        language, or the configured default script."""
        analyzer = self.parts.analyzer
        if context.language and (context.language == "en") == (analysis.language == "en"):
            analyzer.set_reply_language(analysis, context.language, text)
        elif analysis.language in ("zh-Hant", "zh-Hans") and script_is_ambiguous(text):
            analyzer.set_reply_language(analysis, self.parts.settings.default_chinese_script, text)
            analysis.notices.append(f"the script cannot be told from the text: replying in {analysis.reply_language}")

    def prepare(self, complaint: str, conversation: bool = False) -> str:
        """The complaint as drafting reads it. A pasted complaint over the limit is refused with the limit
        named; a conversation's customer turns, which grow turn by turn, are read at the start and the end."""
        if not isinstance(complaint, str) or is_blank(complaint):
            raise ComplaintError("the complaint is empty: paste the customer's message")
        limit = self.parts.settings.max_complaint_chars
        if len(complaint) <= limit:
            return complaint
        if conversation:
            return f"{complaint[: limit // 4]}\n…\n{complaint[-(limit * 3 // 4) :]}"
        raise ComplaintError(
            f"the complaint is {len(complaint):,} characters, over the limit of {limit:,} "
            "(COPILOT_MAX_COMPLAINT_CHARS): paste the part that says what happened"
        )

    def suggest(self, complaint: str, context: SuggestContext, live: LiveContext | None = None, *,
                client: str | None = None) -> Suggestion:
        """Analyse, retrieve, draft three texts, check each and fix what the checker flags; log it."""
        suggestion = self.drafting.drain(self.drafting.run(self.plan(complaint, context, live)))
        self.parts.stores.audit.record_suggestion(suggestion, complaint, context, client=client)
        return suggestion

    def stream(self, complaint: str, context: SuggestContext, live: LiveContext | None = None, *,
               client: str | None = None) -> Iterator[StreamEvent]:
        """Like `suggest`, as events. The plan is made before the first event, so errors in the complaint
        surface at once."""
        return self._logged(self.plan(complaint, context, live), complaint, context, client)

    def _logged(self, plan: Plan, complaint: str, context: SuggestContext, client: str | None) -> Iterator[StreamEvent]:
        for event in self.drafting.run(plan, live=True):
            if event.type == "done" and event.suggestion is not None:
                self.parts.stores.audit.record_suggestion(event.suggestion, complaint, context, client=client)
            yield event

    def plan(self, complaint: str, context: SuggestContext, live: LiveContext | None) -> Plan:
        """Everything before drafting: the analysis (refined by the LLM if there is one) and the passages."""
        plan = Plan(request=DraftRequest(complaint="", analysis=Analysis(language="en", reply_language="en")))
        text = self.prepare(complaint, conversation=live is not None)
        analysis = self.parts.analyzer.analyze(text, context.contacts_before)
        self._settle_script(analysis, text, context)
        if live is not None:
            analysis.anger = live.anger  # the reply answers the customer's latest turn
        if self.parts.llm is not None and not analysis.contentless:
            analysis = self._refined(analysis, text, plan)
        plan.timings["analysis"] = (time.perf_counter() - plan.started) * 1000
        policies = self.parts.policies
        category = policies.category(context.policy) if context.policy else None
        if category is None and analysis.category is not None:
            category = policies.category(analysis.category.key)
        if analysis.injection:
            plan.notices.append("the complaint contains instructions aimed at the assistant; they were treated as text")
        plan.request = DraftRequest(complaint=text, analysis=analysis, category=category, level=context.level,
                                    channel=_CHANNELS.get(context.channel or "", "chat"),
                                    ledger=live.ledger if live else None)
        plan.prompt_text = live.transcript if live is not None else text
        plan.conversation_id = live.conversation_id if live is not None else None
        if not analysis.contentless:
            self._retrieve(plan, live.query if live is not None and live.query else text)
        return plan

    def _refined(self, analysis: Analysis, text: str, plan: Plan) -> Analysis:

        try:
            return refine_analysis(self.parts.llm, mask_with_map(text)[0], analysis, self.parts.policies)
        except LLMError as exc:
            plan.notices.append(f"the LLM could not refine the analysis ({exc.reason}); the rules' reading is used")
            return analysis

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
        key = (kind, lang, self.parts.index.generation)
        if key not in self._guidance_cache:
            self._guidance_cache[key] = self.knowledge.search(
                GUIDANCE_QUERIES[kind][lang], k=1, filters=SearchFilters(kind=["guidance"], language=[guidance_language(lang)]))
        return self._guidance_cache[key]

    def _retrieve(self, plan: Plan, query: str) -> None:
        """The guidance for the case and for each draft, and the policy's own passages."""
        started = time.perf_counter()
        lang, category = plan.request.analysis.reply_language, plan.request.category
        try:
            case = self.knowledge.search(example_query_text(query), k=3, filters=SearchFilters(kind=["guidance"]))
            policy_hits = self.knowledge.policy_passages(query, category, lang) if category is not None else []
            for kind in DRAFT_KINDS:
                plan.by_kind[kind] = self._guidance_for(kind, lang) + case[:1] + (policy_hits[:1] if kind != "empathetic_reply" else [])
            passages = unique(case + policy_hits + [p for ps in plan.by_kind.values() for p in ps])
            # a knowledge passage is data too: one that carries instructions is left out and reported
            tainted = {p.chunk_id for p in passages if self.parts.analyzer.injection_in(p.text)}
            if tainted:
                plan.notices.append(f"{len(tainted)} knowledge passage(s) contain instructions aimed at the assistant; they were left out")
                passages = [p for p in passages if p.chunk_id not in tainted]
                plan.by_kind = {k: [p for p in ps if p.chunk_id not in tainted] for k, ps in plan.by_kind.items()}
            plan.passages = passages
        except (IndexMissing, StoreUnavailable) as exc:
            plan.notices.append(f"no knowledge passages: {exc}")
        plan.timings["retrieval"] = (time.perf_counter() - started) * 1000
