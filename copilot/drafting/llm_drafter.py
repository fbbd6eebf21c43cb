"""Prompts for the three drafts, the rewrite rounds, and the analysis refinement."""

from __future__ import annotations

from copilot.analysis.models import (
    CUSTOMER_TYPES,
    HARD_TYPES,
    NEEDS,
    SIGNALS,
    Analysis,
    CategoryMatch,
    NeedFinding,
    SignalFinding,
)
from copilot.checking.ledger import Ledger
from copilot.checking.models import CheckResult
from copilot.drafting.llm import LLMBrief, LLMEngine, LLMError, LLMReading, Rewrite
from copilot.drafting.models import DraftRequest
from copilot.knowledge.policies import LEVELS, Level, PolicyBook, PolicyCategory
from copilot.retrieval.models import Passage
from copilot.text import detect_language
from copilot.text.script import convert_script
from copilot.text.times import describe_due

LANGUAGE_NAMES = {"zh-Hant": "Traditional Chinese", "zh-Hans": "Simplified Chinese", "en": "English"}


CHANNEL_RULES = {
    "social": "a public reply under the customer's social-media post: one post, at most 140 Chinese characters or "
              "280 English characters; move the details to a private message and never ask for personal data "
              "(phone, address, ID, order number) in public.",
    "chat": "a live chat: 2 to 4 short sentences, no greeting line or sign-off.",
    "email": "an email: a greeting, short paragraphs, a sign-off from the customer care team.",
    "phone": "what the agent says aloud on the phone: spoken, short sentences, nothing that only works in writing.",
}


def policy_summary(category: PolicyCategory | None, level: Level, lang: str) -> tuple[str, str, str]:
    """(summary, limit text, approver) for the prompts. No policy applies: nothing only a policy could justify."""
    if category is None:
        return ("none applies to this complaint: offer no amount and no time frame, refuse nothing; ask for the one or "
                "two details needed to act, or say what will be checked",
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


def reading_summary(request: DraftRequest, details: list[str]) -> str:
    a = request.analysis
    parts = [
        f"problem: {a.topic.phrase if a.topic else 'not named cleanly'}",
        f"problem type {a.problem_type or 'unknown'}",
        f"asks {a.asks or 'nothing specific'}",
        f"needs {a.need_names}, anger {a.anger}/3, {a.customer_type}" + (f" ({a.hard_type})" if a.hard_type else ""),
        f"escalation {a.signal_names}",
        f"facts {a.facts.model_dump(exclude_defaults=True)}",
    ]
    if details:
        parts.append(f"details still needed to act: {', '.join(details)}")
    if a.contentless:
        parts.append("the message says nothing to act on yet: ask briefly what happened, nothing else")
    return "; ".join(parts)


def drafts_prompt(
    engine: LLMEngine, request: DraftRequest, complaint: str, passages: list[Passage], details: list[str]
) -> tuple[str, str, dict[str, Passage]]:
    """(system, user, the passages shown by label) for the one call that writes the three drafts."""
    lang = request.analysis.reply_language
    summary, limit_text, approver = policy_summary(request.category, request.level, lang)
    passage_text, labelled = number_passages(engine, passages)
    if request.category is None:
        next_step = "ask for the one or two details needed to act, through the channel, or say what will be checked first."
        compensation_rule = ("no policy applies, so offer nothing yet: say what will be checked and that the customer will "
                             "hear back, with no gift, no amount and no time frame.")
    else:
        next_step = "what will be done and one time frame from the policy."
        compensation_rule = (f"the remedy the policy gives for this case and what the agent may offer within {limit_text}, "
                             f"only as far as the severity warrants; anything above is requested from {approver}, saying "
                             "when the customer will hear back.")
    system = engine.prompts.render("drafts.system", language=lang, language_name=LANGUAGE_NAMES[lang], limit_text=limit_text,
                                   approver=approver, channel_rules=CHANNEL_RULES[request.channel], next_step=next_step,
                                   compensation_rule=compensation_rule)
    user = engine.prompts.render("drafts.user", policy_summary=summary, analysis_summary=reading_summary(request, details),
                                 passages=passage_text, complaint=complaint,
                                 conversation_note=conversation_note(request.ledger, lang))
    return system, user, labelled


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


def llm_rewrite(engine: LLMEngine, draft: str, result: CheckResult, request: DraftRequest,
                redact: dict[str, str] | None = None) -> str:
    """The draft rewritten by the LLM so that the findings go, within the request's policy limits."""
    lang = request.analysis.reply_language
    _, limit_text, _ = policy_summary(request.category, request.level, lang)
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
    have = {n.need for n in refined.needs}
    refined.needs += [NeedFinding(need=NEEDS[n]) for n in reading.needs if n in NEEDS and n not in have]
    if reading.customer_type in CUSTOMER_TYPES:
        refined.customer_type = CUSTOMER_TYPES[reading.customer_type]
    if reading.hard_type is None or reading.hard_type in HARD_TYPES:
        refined.hard_type = HARD_TYPES[reading.hard_type] if reading.hard_type else None
    known = {s.signal: s for s in analysis.escalation}
    refined.escalation = [known.get(s) or SignalFinding(signal=SIGNALS[s]) for s in reading.escalation if s in SIGNALS]
    if reading.category and policies.category(reading.category) is not None:
        cat = policies.category(reading.category)
        assert cat is not None

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
