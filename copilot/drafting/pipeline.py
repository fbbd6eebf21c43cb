"""Drafting as one pipeline of events: the same path writes a batch suggestion and a streamed one.

`DraftingPipeline.run(plan)` yields `start`, then, while the drafts are written, `delta` and `check` events
(the LLM's tokens as they arrive, the composer's sentences), then each finished `draft` (checked, and if the
checker found something, rewritten by the LLM with the findings and then fixed by the rules), `notice`s
(an LLM failure the composer covered) and finally `done` with the whole suggestion. A batch suggestion
drains the same events and keeps the last.

With an LLM one call writes the three drafts as one JSON answer, streamed token by token when the caller
wants live drafts; a draft the LLM could not write usably (wrong language, an answer that broke off) is
written by the composer, and the suggestion says so.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Literal

from copilot.checking.fixer import FixResult
from copilot.checking.models import CheckResult
from copilot.drafting.citations import cite
from copilot.drafting.composer import Composer
from copilot.drafting.json_stream import DraftTextStream
from copilot.drafting.llm import LLMDrafts, LLMEngine, LLMError
from copilot.drafting.llm_drafter import drafts_prompt, in_script, llm_rewrite
from copilot.drafting.models import DRAFT_KINDS, Draft, DraftKind, DraftRequest, Engine, Suggestion
from copilot.drafting.streaming import SentenceChecker, StreamEvent, sentence_pieces
from copilot.privacy import mask_with_map, restore
from copilot.retrieval.models import Passage

CheckFn = Callable[[str, DraftRequest], CheckResult]
FixFn = Callable[[str, DraftRequest], FixResult]
# a placeholder for personal data ("[PHONE_1]") that has not fully arrived yet is held back
_OPEN_PLACEHOLDER = re.compile(r"\[[A-Z_]*\d*$")


@dataclass
class Plan:
    """A suggestion in the making: the request, the passages found for it, and what happened so far."""

    request: DraftRequest
    passages: list[Passage] = field(default_factory=list)
    by_kind: dict[str, list[Passage]] = field(default_factory=lambda: {k: [] for k in DRAFT_KINDS})
    prompt_text: str = ""  # what the LLM reads as the complaint: the complaint, or a conversation's transcript
    notices: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    conversation_id: str | None = None


@dataclass
class _Written:
    """What the LLM wrote for one draft."""

    text: str
    cited: list[Passage]


class DraftingPipeline:
    def __init__(self, composer: Composer, check: CheckFn, fix: FixFn, llm: LLMEngine | None = None,
                 metrics: dict[str, int] | None = None,
                 adjudicate: Callable[[str, CheckResult], CheckResult] | None = None) -> None:
        self.composer = composer
        self.check = check
        # the LLM's verdict on the findings comes before any rewrite: a false finding must not cost a good draft
        self.adjudicate = adjudicate or (lambda _text, result: result)
        self.fix = fix
        self.llm = llm
        self.metrics = metrics if metrics is not None else {}

    def _count(self, name: str) -> None:
        self.metrics[name] = self.metrics.get(name, 0) + 1

    # ------------------------------------------------------------------ the pipeline

    def run(self, plan: Plan, *, live: bool = False) -> Iterator[StreamEvent]:
        """The events of one suggestion. `live`: report the drafts as they are written (deltas, and the
        checker's findings on each finished sentence); a batch suggestion skips those."""
        request = plan.request
        yield StreamEvent(type="start", message=request.analysis.reply_language)
        started = time.perf_counter()
        written: dict[str, _Written] = {}
        mapping: dict[str, str] = {}
        if self.llm is not None:
            written, mapping = yield from self._llm_drafts(self.llm, plan, live)
        drafts = []
        engine: Engine
        for kind in DRAFT_KINDS:
            if kind in written:
                body, engine, cited = written[kind].text, "llm", written[kind].cited or plan.by_kind[kind]
            else:
                body, engine, cited = self.composer.compose(kind, request), "composer", plan.by_kind[kind]
                if live:
                    checker = SentenceChecker(kind, lambda text: self.check(text, request))
                    for piece in sentence_pieces(body):
                        yield from checker.feed(piece)
                    yield from checker.finish()
            draft = self._finish(kind, body, engine, cited, request, mapping)
            drafts.append(draft)
            yield StreamEvent(type="draft", kind=kind, draft=draft)
        plan.timings["drafting"] = (time.perf_counter() - started) * 1000
        yield StreamEvent(type="done", suggestion=self._assemble(plan, drafts))

    @staticmethod
    def drain(events: Iterator[StreamEvent]) -> Suggestion:
        suggestion = None
        for event in events:
            if event.type == "done":
                suggestion = event.suggestion
        assert suggestion is not None, "a drafting run always ends with its suggestion"
        return suggestion

    # ------------------------------------------------------------------ the LLM's drafts

    def _llm_drafts(
        self, llm: LLMEngine, plan: Plan, live: bool
    ) -> Generator[StreamEvent, None, tuple[dict[str, _Written], dict[str, str]]]:
        """One call for the three drafts; returns what is usable (by kind) and the personal-data map."""
        request, lang = plan.request, plan.request.analysis.reply_language
        # personal data never leaves for the LLM: placeholders go out, the originals come back in the drafts
        masked, mapping = mask_with_map(plan.prompt_text or request.complaint)
        details = [self.composer.replies.detail_name(d, "en")
                   for d in self.composer.replies.details_to_ask(request.analysis.problem_type, request.complaint,
                                                                 request.category.key if request.category else None)]
        system, user, labelled = drafts_prompt(llm, request, masked, plan.passages, details)
        stream = DraftTextStream()
        checkers = {kind: SentenceChecker(kind, lambda text: self.check(text, request)) for kind in DRAFT_KINDS}
        shown: dict[str, str] = dict.fromkeys(DRAFT_KINDS, "")
        answer: LLMDrafts | None = None
        try:
            for chunk in llm.structured_chunks(system, user, LLMDrafts, stream=True if live else None):
                for kind, _ in stream.feed(chunk):
                    if live:
                        yield from self._relay(kind, stream.texts[kind], shown, checkers, mapping)
            answer = llm.validate(stream.whole(), LLMDrafts)
        except LLMError as exc:
            self._count("llm_fallbacks")
            finished = [k for k in DRAFT_KINDS if k in stream.closed]
            if not finished:
                note = f"the LLM was not usable ({exc.reason}): the composer wrote the drafts"
                plan.notices.append(note)
                yield StreamEvent(type="notice", message=note)
                return {}, mapping
            # an answer that broke off: keep the drafts that were complete, the composer writes the rest
            rest = [k for k in DRAFT_KINDS if k not in finished]
            note = f"the LLM's answer broke off ({exc.reason}): the composer wrote the {', '.join(rest)}"
            plan.notices.append(note)
            yield StreamEvent(type="notice", message=note)
            texts = {k: stream.texts[k] for k in finished}
            citations: dict[str, list[str]] = {}
        else:
            texts = {k: getattr(answer, k).text for k in DRAFT_KINDS}
            citations = {k: getattr(answer, k).citations for k in DRAFT_KINDS}
        written: dict[str, _Written] = {}
        for kind, text in texts.items():
            if live:
                yield from checkers[kind].finish()
            try:
                body = restore(in_script(text, lang), mapping)
            except LLMError as exc:
                self._count("llm_fallbacks")
                note = f"the LLM's {kind} was not usable ({exc.reason}): the composer wrote it"
                plan.notices.append(note)
                yield StreamEvent(type="notice", kind=kind, message=note)
                continue
            if not body.strip():
                continue
            # citations must point at passages the model was shown
            written[kind] = _Written(text=body, cited=[labelled[c] for c in citations.get(kind, []) if c in labelled])
        return written, mapping

    @staticmethod
    def _relay(kind: DraftKind, so_far: str, shown: dict[str, str], checkers: dict[str, SentenceChecker],
               mapping: dict[str, str]) -> Iterator[StreamEvent]:
        """The new part of a draft, personal data put back, a half-arrived placeholder held back."""
        visible = restore(_OPEN_PLACEHOLDER.sub("", so_far), mapping)
        if visible.startswith(shown[kind]) and len(visible) > len(shown[kind]):
            piece = visible[len(shown[kind]) :]
            shown[kind] = visible
            yield from checkers[kind].feed(piece)

    # ------------------------------------------------------------------ finishing a draft

    def _finish(self, kind: DraftKind, body: str, engine: Engine, cited: list[Passage], request: DraftRequest,
                mapping: dict[str, str]) -> Draft:
        """Check a draft; an LLM draft gets up to two rewrite rounds with the findings, then the rule fix."""
        lang = request.analysis.reply_language
        check = self.check(body, request)
        if engine == "llm" and check.violations:
            check = self.adjudicate(body, check)
        fixed_by: Literal["none", "llm", "rules"] = "none"
        if check.violations and engine == "llm" and self.llm is not None:
            for _ in range(2):
                try:
                    masked_body, more = mask_with_map(body)
                    both = mapping | more
                    body = restore(llm_rewrite(self.llm, masked_body, check, request, redact=both), both)
                except LLMError:
                    break
                self._count("llm_rewrites")
                check = self.check(body, request)
                fixed_by = "llm"
                if not check.violations:
                    break
        if check.violations and fixed_by == "llm":
            check = self.adjudicate(body, check)
        if check.violations:
            fixed = self.fix(body, request)
            body, check, fixed_by = fixed.text, fixed.check, "rules"
            self._count("rule_fixes")
        return Draft(kind=kind, language=lang, text=body, engine=engine, citations=cite(cited), check=check, fixed_by=fixed_by)

    def _assemble(self, plan: Plan, drafts: list[Draft]) -> Suggestion:
        self._count("suggestions")
        plan.timings["total"] = (time.perf_counter() - plan.started) * 1000
        category = plan.request.category
        return Suggestion(
            analysis=plan.request.analysis,
            passages=plan.passages,
            drafts=drafts,
            engine="llm" if self.llm is not None else "composer",
            notices=plan.notices,
            timings_ms={k: round(v, 1) for k, v in plan.timings.items()},
            policy=category.key if category else None,
            conversation_id=plan.conversation_id,
        )
