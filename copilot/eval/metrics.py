"""What an eval run measures for one suggestion, and the totals over a run."""

from __future__ import annotations

import re
import statistics

from pydantic import BaseModel, Field

from copilot.drafting.models import Suggestion
from copilot.eval.dataset import EvalCase
from copilot.eval.defects import draft_defects
from copilot.text import detect_language
from copilot.text.numbers import find_amounts

# What each draft must do, as groups of moves any one of which will do: name the problem (or thank for the
# question), say sorry (or thank), and move things on (a next step, a check, a request for details, a
# promise to come back). A time frame is not required: without a policy there is none to give.
ACTION = frozenset({"own", "next_step", "follow_up", "escalate"})
REQUIRED_MOVES: dict[str, list[frozenset[str]]] = {
    "empathetic_reply": [frozenset({"acknowledge", "thank"}), frozenset({"apologise", "thank"}), ACTION],
    "expectation_lowering": [frozenset({"acknowledge", "apologise", "thank"}), ACTION],
    "compensation": [frozenset({"apologise", "acknowledge", "thank"}), ACTION],
}
_ASKS = re.compile(r"申請|申请|核准|审批|爭取|争取|approve|approval|ask|request", re.IGNORECASE)


class DraftMetrics(BaseModel):
    kind: str
    engine: str
    fixed_by: str
    violations: list[str] = Field(default_factory=list, description="Rule ids still flagged in the final draft.")
    moves_present: float = Field(description="Share of the required moves present.")
    language_ok: bool
    citations: int
    citations_valid: bool
    compensation_ok: bool
    forbidden: list[str] = Field(default_factory=list)
    defects: list[str] = Field(default_factory=list, description="What a reader would spot before sending (copilot/eval/defects.py).")
    judge: dict[str, float] | None = None


class CaseResult(BaseModel):
    id: str
    complaint: str
    policy: str | None
    language: str
    drafts: list[DraftMetrics]
    texts: dict[str, str]
    spans: dict[str, list[tuple[int, int, str]]] = Field(default_factory=dict, description="Flagged spans before fixing.")
    retrieval_hit: bool | None = None
    needs_jaccard: float | None = None
    escalation_jaccard: float | None = None
    category_ok: bool | None = None
    domain_ok: bool | None = None
    policy_expected: str | None = Field(None, description='The labelled policy ("domain/category" or "none").')
    preferred: float | None = Field(None, description="LLM judge: 1 ours preferred to the reference reply, 0.5 tie, 0 not.")
    problem_type_ok: bool | None = None
    injection_ok: bool | None = None
    timings_ms: dict[str, float]
    notices: list[str] = Field(default_factory=list)
    error: str | None = None

    @property
    def badness(self) -> float:
        """For ranking the worst cases: failures first, then missing moves and mismatches."""
        score = 0.0
        for d in self.drafts:
            score += 10 * len(d.violations) + 5 * (not d.language_ok) + 5 * (not d.compensation_ok) + 3 * (1 - d.moves_present)
            score += 2 * len(d.forbidden) + (0 if d.citations_valid else 2) + 3 * len(d.defects)
        score += 2 * (self.policy_expected is not None and self.policy != self.policy_expected)
        score += 2 * (self.category_ok is False) + (1 - (self.needs_jaccard or 1)) + 3 * (self.injection_ok is False)
        return score + (100 if self.error else 0)


def _jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    return 1.0 if not sa and not sb else len(sa & sb) / len(sa | sb)


def measure(case: EvalCase, s: Suggestion, limit_of, pre_fix_spans: dict[str, list[tuple[int, int, str]]],
            policy_text: str = "") -> CaseResult:
    retrieved = {p.chunk_id for p in s.passages}
    lang = case.expect.lang if case.expect.lang in ("zh-Hant", "zh-Hans", "en") else s.analysis.reply_language
    limit = limit_of(s.policy) if s.policy else None
    drafts = []
    for d in s.drafts:
        required = REQUIRED_MOVES[d.kind]
        present = sum(bool(group & set(d.check.moves_present)) for group in required) / len(required)
        offered = [a.value for a in find_amounts(d.text)]
        comp_ok = not any(v.startswith("overpromise.policy_amount") for v in (x.rule_id for x in d.check.violations))
        if d.kind == "compensation" and limit is not None and offered and max(offered) > limit and not _ASKS.search(d.text):
            comp_ok = False
        drafts.append(DraftMetrics(
            defects=draft_defects(d.text, d.language, case.context.channel or "chat", s.policy is not None, case.complaint, policy_text),
            kind=d.kind, engine=d.engine, fixed_by=d.fixed_by, violations=[v.rule_id for v in d.check.violations],
            moves_present=present, language_ok=d.language == lang and detect_language(d.text) == lang,
            citations=len(d.citations), citations_valid={c.chunk_id for c in d.citations} <= retrieved,
            compensation_ok=comp_ok, forbidden=[p for p in case.expect.forbidden if p and p in d.text],
        ))
    e, a = case.expect, s.analysis
    articles = {p.article for p in s.passages}
    return CaseResult(
        id=case.id, complaint=case.complaint, policy=s.policy, language=a.language, drafts=drafts,
        texts={d.kind: d.text for d in s.drafts}, spans=pre_fix_spans,
        retrieval_hit=bool(articles & set(e.articles)) if e.articles else None,
        needs_jaccard=_jaccard(a.need_names, e.needs) if e.needs is not None else None,
        escalation_jaccard=_jaccard(a.signal_names, e.escalation) if e.escalation is not None else None,
        category_ok=(a.category is not None and f"{a.category.domain}/{a.category.category}" == f"{e.domain}/{e.category}") if e.category else None,
        domain_ok=(a.category is not None and a.category.domain == e.domain) if e.domain else None,
        injection_ok=(bool(a.injection) == e.injection) if e.injection is not None else None,
        policy_expected=e.policy,
        problem_type_ok=(a.problem_type == e.problem_type) if e.problem_type else None,
        timings_ms=s.timings_ms, notices=s.notices,
    )


def _rate(values: list[bool | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), 4) if known else None


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.fmean(known), 4) if known else None


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1) if ordered else 0.0


def summarise(results: list[CaseResult]) -> dict:
    ok = [r for r in results if not r.error]
    drafts = [d for r in ok for d in r.drafts]
    by_rule: dict[str, int] = {}
    for d in drafts:
        for rule in d.violations:
            by_rule[rule] = by_rule.get(rule, 0) + 1
    latency = {stage: {"p50": _pct([r.timings_ms.get(stage, 0.0) for r in ok], 0.5), "p95": _pct([r.timings_ms.get(stage, 0.0) for r in ok], 0.95)}
               for stage in ("analysis", "retrieval", "drafting", "total")}
    judged = [d.judge for d in drafts if d.judge]
    labelled = [r for r in ok if r.policy_expected is not None]
    assigned = [r for r in labelled if r.policy is not None]
    in_policy = [r for r in labelled if r.policy_expected != "none"]
    defects: dict[str, int] = {}
    for d in drafts:
        for name in d.defects:
            defects[name] = defects.get(name, 0) + 1
    return {
        "cases": len(results),
        "errors": len(results) - len(ok),
        "drafts": len(drafts),
        "violations_per_draft": round(sum(len(d.violations) for d in drafts) / max(len(drafts), 1), 4),
        "drafts_with_violations": sum(bool(d.violations) for d in drafts),
        "violations_by_rule": by_rule,
        "fixed_by_rules": sum(d.fixed_by == "rules" for d in drafts),
        "moves_present": _mean([d.moves_present for d in drafts]),
        "language_match": _rate([d.language_ok for d in drafts]),
        "language_mismatches": sum(not d.language_ok for d in drafts),
        "compensation_within_limit": _rate([d.compensation_ok for d in drafts]),
        "compensation_over_limit": sum(not d.compensation_ok for d in drafts),
        "citations_valid": _rate([d.citations_valid for d in drafts]),
        "forbidden_phrases": sum(len(d.forbidden) for d in drafts),
        "retrieval_hit": _rate([r.retrieval_hit for r in ok]),
        "needs_agreement": _mean([r.needs_jaccard for r in ok]),
        "escalation_agreement": _mean([r.escalation_jaccard for r in ok]),
        "category_accuracy": _rate([r.category_ok for r in ok]),
        "domain_accuracy": _rate([r.domain_ok for r in ok]),
        "injection_detection": _rate([r.injection_ok for r in ok]),
        "policy_precision": round(sum(r.policy == r.policy_expected for r in assigned) / len(assigned), 4) if assigned else None,
        "policy_recall": round(sum(r.policy == r.policy_expected for r in in_policy) / len(in_policy), 4) if in_policy else None,
        "policy_assigned": len(assigned),
        "problem_type_accuracy": _rate([r.problem_type_ok for r in ok]),
        "drafts_with_defects": sum(bool(d.defects) for d in drafts),
        "defects_by_kind": defects,
        "latency_ms": latency,
        "judge": ({k: _mean([j.get(k) for j in judged]) for k in ("on_topic", "invented_facts", "natural", "sendable", "agreement")}
                  | {"preferred_to_reference": _mean([r.preferred for r in ok])}) if judged else None,
    }
