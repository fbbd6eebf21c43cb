"""The escalation brief: what a supervisor taking over needs in one screen, in their own language.

The facts (what was promised, what the policy allows) always come from the ledger and the policy book, never
from a model; the LLM, when configured, only rewrites the narrative parts (what happened, what the customer
wants, how to approach them, the opening line), and its opening line is checked like any draft.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel

from copilot.analysis.models import Analysis
from copilot.conversation.models import Brief, BriefSection, Conversation
from copilot.knowledge.policies import LEVELS, PolicyCategory
from copilot.text import REPLY_LANGUAGES
from copilot.text.script import convert_script
from copilot.text.sentences import split_sentences
from copilot.text.times import describe_due

Language = str


class BriefLists(BaseModel):
    labels: dict[str, str]
    needs: dict[str, str]
    signals: dict[str, str]
    directions: dict[str, str]
    anger: list[str]
    commitment_kinds: dict[str, str]
    customer_types: dict[str, dict[str, str]]


def load_brief_lists(path: Path) -> dict[str, BriefLists]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {lang: BriefLists.model_validate(values) for lang, values in data.items()}


_SEP = {"en": "; ", "zh-Hant": "；", "zh-Hans": "；"}
_LIST = {"en": ", ", "zh-Hant": "、", "zh-Hans": "、"}
_STOP = {"en": ".", "zh-Hant": "。", "zh-Hans": "。"}
_LEVEL = {
    "en": {"agent": "agent", "supervisor": "supervisor", "manager": "manager"},
    "zh-Hant": {"agent": "客服", "supervisor": "主管", "manager": "經理"},
    "zh-Hans": {"agent": "客服", "supervisor": "主管", "manager": "经理"},
}


def _in(text: str, lang: str) -> str:
    """Chinese written for the other script is converted; other languages are quoted as they are."""
    if lang in ("zh-Hant", "zh-Hans"):
        return convert_script(text, lang)
    return text


def compose_brief(
    conversation: Conversation,
    analysis: Analysis,
    category: PolicyCategory | None,
    lists: BriefLists,
    lang: str,
    opening_line: str,
) -> Brief:
    """The brief from the conversation's reading, its ledger and the policy, in `lang`."""
    labels = lists.labels
    texts = {
        "what_happened": _what_happened(conversation, labels, lang),
        "facts": _facts(analysis, lang),
        "customer_wants": _wants(conversation, analysis, lists, lang),
        "promised": _promised(conversation, lists, lang),
        "policy_allows": _policy_allows(category, labels, lang),
        "customer_type": " / ".join(lists.customer_types[k]["name"] for k in _kinds(analysis) if k in lists.customer_types),
        "trend": _trend(conversation, lists, lang),
        "approach": " ".join(lists.customer_types[k]["approach"] for k in _kinds(analysis) if k in lists.customer_types),
        "opening_line": opening_line,
    }
    sections = [BriefSection(key=key, title=labels[key], text=text) for key, text in texts.items()]
    return Brief(conversation_id=conversation.id, language=REPLY_LANGUAGES[lang], engine="composer", title=labels["title"],
                 sections=sections, opening_line=opening_line)


def _kinds(analysis: Analysis) -> list[str]:
    return [analysis.customer_type] + ([analysis.hard_type] if analysis.hard_type else [])


def _what_happened(conversation: Conversation, labels: dict[str, str], lang: str) -> str:
    """The customer's first words and latest words, and how long it has gone on."""
    customer = conversation.customer_turns
    agents = [t for t in conversation.turns if t.role == "agent"]
    minutes = 0
    if conversation.turns:
        minutes = round((conversation.turns[-1].at - conversation.turns[0].at).total_seconds() / 60)
    opening = " ".join(split_sentences(customer[0].text)[:2]) if customer else ""
    latest = " ".join(split_sentences(customer[-1].text)[:2]) if len(customer) > 1 else ""
    happened = [f"“{_in(opening, lang)}”"] if opening else []
    if latest:
        happened.append(("Latest: " if lang == "en" else "最新：") + f"“{_in(latest, lang)}”")
    happened.append(labels["turns"].format(customer=len(customer), agent=len(agents), minutes=minutes))
    return " ".join(happened)


def _facts(analysis: Analysis, lang: str) -> str:
    facts = analysis.facts
    bits = facts.order_ids + facts.dates + [f"{a:g}" for a in facts.demanded]
    if facts.contacts_before:
        bits.append(("earlier contacts: " if lang == "en" else "先前聯絡次數：" if lang == "zh-Hant" else "先前联系次数：")
                    + str(facts.contacts_before))
    return _LIST[lang].join(bits) or "-"


def _wants(conversation: Conversation, analysis: Analysis, lists: BriefLists, lang: str) -> str:
    wants = _LIST[lang].join(lists.needs[n] for n in _needs_by_weight(conversation) if n in lists.needs)
    wants = wants or lists.needs.get("fast_fix", "")
    if analysis.facts.demanded:
        wants += _SEP[lang] + ("asks for " if lang == "en" else "要求 ") + _LIST[lang].join(f"{a:g}" for a in analysis.facts.demanded)
    return wants


def _promised(conversation: Conversation, lists: BriefLists, lang: str) -> str:
    """Every promise in the ledger, with its turn and when it falls due."""
    lines = []
    now = conversation.turns[-1].at if conversation.turns else None
    for c in conversation.commitments:
        kind = lists.commitment_kinds.get(c.kind, c.kind)
        when = f" ({describe_due(c.due, now, lang)})" if c.due is not None and now is not None else ""
        lines.append(f"#{(c.turn or 0) + 1} {kind}{when}: “{c.text}”")
    return _SEP[lang].join(lines) or lists.labels["nothing_promised"]


def _policy_allows(category: PolicyCategory | None, labels: dict[str, str], lang: str) -> str:
    """The remedy, the compensation limits per level, the time frames and what cannot be granted."""
    if category is None:
        return labels["no_policy"]
    sep = _SEP[lang]
    name = category.names.get(lang, category.names["en"])
    remedy = category.remedy.get(lang) or convert_script(category.remedy["zh-Hant"], lang)
    limits = _LIST[lang].join(f"{_LEVEL[lang][lvl]} {category.currency} {category.limit(lvl):g}" for lvl in LEVELS)
    frames = _LIST[lang].join(tf.describe(lang) for tf in category.time_frames.values())
    cannot = [c.request.get(lang) or convert_script(c.request["zh-Hant"], lang) for c in category.cannot_grant]
    parts = [f"{name}{sep}{remedy}", ("Compensation limits: " if lang == "en" else "補償上限：" if lang == "zh-Hant" else "补偿上限：") + limits]
    if frames:
        parts.append(("Time frames: " if lang == "en" else "時限：" if lang == "zh-Hant" else "时限：") + frames)
    if cannot:
        parts.append(("Cannot grant: " if lang == "en" else "不能答應：" if lang == "zh-Hant" else "不能答应：") + " ".join(cannot))
    return sep.join(p.rstrip("。.") for p in parts) + _STOP[lang]


def _trend(conversation: Conversation, lists: BriefLists, lang: str) -> str:
    angers = [p.anger for p in conversation.trend.points]
    text = lists.directions[conversation.trend.direction]
    if angers:
        text += f" ({' → '.join(lists.anger[a] for a in angers[-5:])})"
    signals = sorted({s for p in conversation.trend.points for s in p.signals})
    if signals:
        text += _SEP[lang] + _LIST[lang].join(lists.signals.get(s, s) for s in signals)
    return text


def _needs_by_weight(conversation: Conversation) -> list[str]:
    """Needs across the customer's turns, the most often and most recently voiced first."""
    weight: dict[str, float] = {}
    for i, point in enumerate(conversation.trend.points):
        for need in point.needs:
            weight[need] = weight.get(need, 0) + 1 + i * 0.01
    return sorted(weight, key=lambda n: -weight[n])
