"""Prompts for the three drafts, the rewrite rounds, and the analysis refinement."""

from __future__ import annotations

from copilot.analysis.models import Analysis, SignalFinding
from copilot.checking.ledger import Ledger, describe_due
from copilot.checking.models import CheckResult
from copilot.drafting.llm import LLMBrief, LLMDrafts, LLMEngine, LLMError, LLMReading, Rewrite
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
    ledger: Ledger | None = None,
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
    user = engine.prompts.render("drafts.user", policy_summary=summary, analysis_summary=reading, passages=passage_text,
                                 complaint=complaint, conversation_note=conversation_note(ledger, lang))
    return engine.structured(system, user, LLMDrafts), labelled


KIND_DESCRIPTIONS = {
    "empathetic_reply": "empathetic reply: acknowledge what happened and how it feels, apologise once, own it, and give the concrete next step with its time.",
    "expectation_lowering": "expectation-lowering explanation: say plainly what cannot be done and why in human terms (not 'policy says'), then what you can do instead.",
    "compensation": "compensation wording: offer what the policy lets you give within your limit, and say you will ask for approval for anything more.",
}


def stream_draft(
    engine: LLMEngine, kind: str, complaint: str, analysis: Analysis, category: PolicyCategory | None, level: Level,
    passages: list[Passage], ledger: Ledger | None = None,
):
    """One draft as plain text, token by token."""
    lang = analysis.reply_language
    summary, limit_text, approver = policy_summary(category, level, lang)
    passage_text, _ = number_passages(engine, passages)
    reading = f"needs {analysis.need_names}, anger {analysis.anger}/3, {analysis.customer_type}, escalation {analysis.signal_names}"
    system = engine.prompts.render("draft_stream.system", language=lang, language_name=LANGUAGE_NAMES[lang],
                                   kind_description=KIND_DESCRIPTIONS[kind], limit_text=limit_text, approver=approver)
    user = engine.prompts.render("draft_stream.user", policy_summary=summary, analysis_summary=reading, passages=passage_text,
                                 conversation_note=conversation_note(ledger, lang), complaint=complaint)
    return engine.stream_text(system, user)


def conversation_note(ledger: Ledger | None, lang: str) -> str:
    """For a live conversation: the promises to keep and whether to hold back another apology."""
    if ledger is None:
        return ""
    lines = ["This is a live conversation (the complaint block is the transcript): write the agent's NEXT turn."]
    now = ledger.now
    for c in ledger.commitments:
        when = f" (due {describe_due(c.due, now, 'en')})" if c.due is not None and now is not None else ""
        amount = f" (amount {c.amount:g})" if c.amount is not None else ""
        lines.append(f'- already promised in turn {(c.turn or 0) + 1}, {c.kind}: "{c.text}"{when}{amount}')
    if ledger.commitments:
        lines.append("Keep these promises exactly: never give a different time or amount for them.")
    if ledger.apologies_in_a_row >= 2:
        lines.append(f"The agent apologised in each of the last {ledger.apologies_in_a_row} turns: do not apologise again; show action instead.")
    return "\n".join(lines)


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


CONTROL_INSTRUCTIONS = {
    "shorter": "Make it about half as long. Keep the acknowledgement, the concrete next step and every time and amount; drop repetition and filler.",
    "warmer": "Make it warmer and more personal: acknowledge how the customer feels and speak as one person to another, without adding promises.",
    "formal": "Make it more formal and courteous (full forms, polite address), without becoming cold or bureaucratic.",
    "simpler": "Use simple everyday words and short sentences; replace any internal or technical term with plain words.",
    "language": "Translate it faithfully, keeping its tone, its structure and every time, amount and reference number.",
}


def llm_rewrite_control(engine: LLMEngine, text: str, control: str, lang: str, target: str) -> str:
    """One rewrite control applied by the LLM; the answer must come back in `target`."""
    system = engine.prompts.render("rewrite_control.system", instruction=CONTROL_INSTRUCTIONS[control], target=target,
                                   target_name=LANGUAGE_NAMES[target])
    user = engine.prompts.render("rewrite_control.user", language=lang, text=text)
    return in_script(engine.structured(system, user, Rewrite).text, target)


def llm_brief(engine: LLMEngine, transcript: str, facts: str, lang: str, customer_lang: str) -> LLMBrief:
    system = engine.prompts.render("brief.system", language=lang, language_name=LANGUAGE_NAMES[lang],
                                   customer_language_name=LANGUAGE_NAMES[customer_lang])
    user = engine.prompts.render("brief.user", facts=facts, transcript=transcript)
    brief = engine.structured(system, user, LLMBrief)
    in_script(brief.what_happened, lang)  # raises wrong_language when the model ignored the language
    brief.opening_line = in_script(brief.opening_line, customer_lang)
    return brief
