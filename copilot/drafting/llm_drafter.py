"""Prompts for the three drafts, the rewrite rounds, and the analysis refinement."""

from __future__ import annotations

from copilot.analysis.models import Analysis, SignalFinding
from copilot.checking.models import CheckResult
from copilot.drafting.llm import LLMDrafts, LLMEngine, LLMError, LLMReading, Rewrite
from copilot.knowledge.policies import LEVELS, Level, PolicyBook, PolicyCategory
from copilot.retrieval.models import Passage
from copilot.text import detect_language
from copilot.text.script import convert_script

LANGUAGE_NAMES = {"zh-Hant": "Traditional Chinese", "zh-Hans": "Simplified Chinese", "en": "English"}


def policy_summary(category: PolicyCategory | None, level: Level, lang: str) -> tuple[str, str, str]:
    """(summary, limit text, approver) for the prompts."""
    if category is None:
        return ("no policy matched: offer no compensation amount and promise no deadline shorter than 24 hours",
                "no amount at all", "a supervisor")
    limit = category.limit(level)
    higher = next((lvl for lvl in LEVELS[LEVELS.index(level) + 1 :]), "manager")
    frames = "; ".join(f"{name}: {tf.describe('en')}" for name, tf in category.time_frames.items())
    cannot = "; ".join(
        f"cannot grant '{c.request['en']}' because {c.reason['en']} (alternative: {c.alternative['en']})" for c in category.cannot_grant
    )
    summary = (
        f"{category.key} ({category.names['en']}). Entitlement: {category.remedy['en']} "
        f"Goodwill compensation ({category.compensation.type}) the agent ({level}) may grant alone: up to "
        f"{category.currency} {limit:g}. Time frames (promise these or later, never sooner): {frames}. {cannot}"
    )
    return summary, f"{category.currency} {limit:g}", higher


def number_passages(engine: LLMEngine, passages: list[Passage]) -> tuple[str, dict[str, Passage]]:
    labelled = {f"P{i}": p for i, p in enumerate(passages, start=1)}
    parts = [f"[{key}] {p.title} / {p.section}: {p.text}" for key, p in labelled.items()]
    kept = engine.fit(parts, engine.settings.llm_context_tokens)
    return "\n".join(kept), {k: labelled[k] for k in list(labelled)[: len(kept)]}


def llm_drafts(
    engine: LLMEngine,
    complaint: str,
    analysis: Analysis,
    category: PolicyCategory | None,
    level: Level,
    passages: list[Passage],
) -> tuple[LLMDrafts, dict[str, Passage]]:
    lang = analysis.reply_language
    summary, limit_text, approver = policy_summary(category, level, lang)
    passage_text, labelled = number_passages(engine, passages)
    reading = (
        f"needs {analysis.need_names}, anger {analysis.anger}/3, {analysis.customer_type}"
        + (f" ({analysis.hard_type})" if analysis.hard_type else "")
        + f", escalation {analysis.signal_names}, facts {analysis.facts.model_dump(exclude_defaults=True)}"
    )
    system = engine.prompts.render("drafts.system", language=lang, language_name=LANGUAGE_NAMES[lang], limit_text=limit_text, approver=approver)
    user = engine.prompts.render("drafts.user", policy_summary=summary, analysis_summary=reading, passages=passage_text, complaint=complaint)
    return engine.structured(system, user, LLMDrafts), labelled


def in_script(text: str, lang: str) -> str:
    """Drafts are in the customer's script: convert Chinese of the other script; reject a wrong language."""
    found = detect_language(text)
    if lang in ("zh-Hant", "zh-Hans") and found in ("zh-Hant", "zh-Hans"):
        return convert_script(text, lang) if found != lang else text
    if found != lang and not (lang == "en" and found == "other"):
        raise LLMError("wrong_language", f"expected {lang}, got {found}")
    return text


def llm_rewrite(
    engine: LLMEngine,
    draft: str,
    result: CheckResult,
    category: PolicyCategory | None,
    level: Level,
    lang: str,
    redact: dict[str, str] | None = None,
) -> str:
    _, limit_text, _ = policy_summary(category, level, lang)
    findings = "\n".join(f'- "{v.text}" ({v.name}): {v.explanation} Fix: {v.suggestion}' for v in result.violations)
    for placeholder, value in (redact or {}).items():  # a flagged span may quote personal data
        findings = findings.replace(value, placeholder)
    system = engine.prompts.render("rewrite.system", language=lang, language_name=LANGUAGE_NAMES[lang], limit_text=limit_text)
    user = engine.prompts.render("rewrite.user", findings=findings, draft=draft)
    return in_script(engine.structured(system, user, Rewrite).text, lang)


def refine_analysis(engine: LLMEngine, complaint: str, analysis: Analysis, policies: PolicyBook) -> Analysis:
    """The LLM corrects the rules' reading; only values from the allowed vocabularies are taken."""
    categories = ", ".join(c.key for c in policies.categories())
    rules_reading = analysis.model_dump_json(include={"needs", "anger", "customer_type", "hard_type", "escalation", "category"})
    system = engine.prompts.render("analysis.system")
    user = engine.prompts.render("analysis.user", categories=categories, rules_reading=rules_reading, complaint=complaint)
    reading = engine.structured(system, user, LLMReading)
    refined = analysis.model_copy(deep=True)
    refined.engine = "llm"
    refined.anger = max(0, min(3, reading.anger))
    from copilot.analysis.models import NeedFinding

    have = {n.need for n in refined.needs}
    refined.needs += [NeedFinding(need=n) for n in reading.needs if n in ("fast_fix", "respect", "compensation", "vent") and n not in have]  # type: ignore[arg-type]
    if reading.customer_type in ("emotional", "rational", "unreasonable"):
        refined.customer_type = reading.customer_type  # type: ignore[assignment]
    if reading.hard_type in ("hedgehog", "snake", "fox", None):
        refined.hard_type = reading.hard_type  # type: ignore[assignment]
    known = {s.signal: s for s in analysis.escalation}
    refined.escalation = [
        known.get(s) or SignalFinding(signal=s)  # type: ignore[arg-type]
        for s in reading.escalation
        if s in ("manager", "regulator", "media", "lawsuit", "repeat_contact", "many_affected")
    ]
    if reading.category and policies.category(reading.category) is not None:
        cat = policies.category(reading.category)
        assert cat is not None
        from copilot.analysis.models import CategoryMatch

        refined.category = CategoryMatch(domain=cat.domain, category=cat.id, name=cat.names.get(analysis.reply_language, cat.names["en"]), score=1.0, matched=["llm"])
    if reading.injection and not refined.injection:
        refined.notices.append("the LLM found instructions aimed at the assistant in the complaint")
    return refined
