"""The `Copilot` service: the one object every face (API, side panel, CLI, eval runs) talks to."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from copilot.analysis.models import Analysis
from copilot.audit import Feedback
from copilot.checking import Checker, CheckResult, Fixer, FixResult
from copilot.drafting.models import SuggestContext, Suggestion
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


def _guidance_lang(lang: str) -> str:
    # guidance ships in Traditional Chinese and English; Simplified queries match it after T-to-S
    return "en" if lang == "en" else "zh-Hant"


class Copilot:
    """Owns the pipeline: knowledge -> retrieval -> analysis -> drafting -> checking."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._index: KnowledgeIndex | None = None
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

    def _suggest(self, complaint: str, context: SuggestContext) -> Suggestion:
        from copilot.drafting import DRAFT_KINDS
        from copilot.drafting.citations import GUIDANCE_QUERIES, unique

        timings: dict[str, float] = {}
        started = time.perf_counter()
        text, notices = self._prepare(complaint)
        analysis = self.analyzer.analyze(text, context.contacts_before)
        analysis.notices = notices + analysis.notices
        self._settle_script(analysis, text, context)
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
        try:
            case = self.search_knowledge(text[:1500], k=3, filters=SearchFilters(kind=["guidance"]))
            policy_hits = self._policy_passages(text, category, lang) if category is not None else []
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

        t = time.perf_counter()
        llm_texts: dict[str, tuple[str, list[Passage]]] = {}
        pii: dict[str, str] = {}
        if engine is not None:
            llm_texts, pii = self._llm_texts(engine, text, analysis, category, context, passages, notices)
        drafts = []
        for kind in DRAFT_KINDS:
            if kind in llm_texts:
                body, cited = llm_texts[kind]
                drafts.append(self._finish(kind, body, "llm", cited or by_kind[kind], text, category, context, lang, pii))
            else:
                body = self.composer.compose(kind, text, analysis, category, context.level, context.channel)
                drafts.append(self._finish(kind, body, "composer", by_kind[kind], text, category, context, lang))
        timings["drafting"] = (time.perf_counter() - t) * 1000
        self.metrics["suggestions"] += 1
        timings["total"] = (time.perf_counter() - started) * 1000
        return Suggestion(
            analysis=analysis,
            passages=passages,
            drafts=drafts,
            engine="llm" if engine is not None else "composer",
            notices=notices,
            timings_ms={k: round(v, 1) for k, v in timings.items()},
            policy=category.key if category else None,
        )

    def _llm_texts(self, engine, text, analysis, category, context, passages, notices) -> tuple[dict[str, tuple[str, list[Passage]]], dict[str, str]]:
        """The LLM's three drafts with the passages they cite; {} (and a notice) when the LLM fails."""
        from copilot.drafting.llm import LLMError
        from copilot.drafting.llm_drafter import in_script, llm_drafts

        # personal data never leaves for the LLM: placeholders go out, the originals come back in the drafts
        masked, mapping = mask_with_map(text)
        try:
            out, labelled = llm_drafts(engine, masked, analysis, category, context.level, passages)
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

    def _finish(self, kind, body, engine_name, cited, complaint, category, context, lang, pii=None):
        """Check a draft; an LLM draft gets up to two rewrite rounds with the findings, then the rule fix."""
        from copilot.drafting import Draft
        from copilot.drafting.citations import cite

        check = self.check(body, lang, complaint=complaint, level=context.level, policy=category)
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
                check = self.check(body, lang, complaint=complaint, level=context.level, policy=category)
                fixed_by = "llm"
                if not check.violations:
                    break
        if check.violations:
            fixed = self.fix(body, lang, complaint=complaint, level=context.level, policy=category)
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
    ) -> CheckResult:
        """Check a draft or the agent's own text against the "no excuses, no blame" rules."""
        return self.checker.check(text, language, complaint=complaint, level=level, policy=policy)

    def fix(
        self,
        text: str,
        language: str | None = None,
        *,
        complaint: str | None = None,
        level: Level = "agent",
        policy: PolicyCategory | str | None = None,
    ) -> FixResult:
        """Rewrite the flagged spans deterministically (phrasebook) and re-check until clean."""
        return self.fixer.fix(text, language, complaint=complaint, level=level, policy=policy)

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
