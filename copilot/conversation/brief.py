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
    sep, stop = _SEP[lang], _STOP[lang]
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
    facts = analysis.facts
    fact_bits = facts.order_ids + facts.dates + [f"{a:g}" for a in facts.demanded]
    if facts.contacts_before:
        fact_bits.append(("earlier contacts: " if lang == "en" else "先前聯絡次數：" if lang == "zh-Hant" else "先前联系次数：")
                         + str(facts.contacts_before))

    needs = _needs_by_weight(conversation)
    wants = _LIST[lang].join(lists.needs[n] for n in needs if n in lists.needs) or lists.needs.get("fast_fix", "")
    if facts.demanded:
        wants += sep + ("asks for " if lang == "en" else "要求 ") + _LIST[lang].join(f"{a:g}" for a in facts.demanded)

    promised_lines = []
    now = conversation.turns[-1].at if conversation.turns else None
    for c in conversation.commitments:
        kind = lists.commitment_kinds.get(c.kind, c.kind)
        when = f" ({describe_due(c.due, now, lang)})" if c.due is not None and now is not None else ""
        turn = f"#{(c.turn or 0) + 1}"
        promised_lines.append(f"{turn} {kind}{when}: “{c.text}”")
    promised = sep.join(promised_lines) or labels["nothing_promised"]

    policy_text = labels["no_policy"]
    if category is not None:
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
        policy_text = sep.join(p.rstrip("。.") for p in parts) + stop

    kinds = [analysis.customer_type] + ([analysis.hard_type] if analysis.hard_type else [])
    type_text = " / ".join(lists.customer_types[k]["name"] for k in kinds if k in lists.customer_types)
    approach = " ".join(lists.customer_types[k]["approach"] for k in kinds if k in lists.customer_types)
    angers = [p.anger for p in conversation.trend.points]
    trend_text = lists.directions[conversation.trend.direction]
    if angers:
        trend_text += f" ({' → '.join(lists.anger[a] for a in angers[-5:])})"
    signals = sorted({s for p in conversation.trend.points for s in p.signals})
    if signals:
        trend_text += sep + _LIST[lang].join(lists.signals.get(s, s) for s in signals)

    sections = [
        BriefSection(key="what_happened", title=labels["what_happened"], text=" ".join(happened)),
        BriefSection(key="facts", title=labels["facts"], text=_LIST[lang].join(fact_bits) or "-"),
        BriefSection(key="customer_wants", title=labels["customer_wants"], text=wants),
        BriefSection(key="promised", title=labels["promised"], text=promised),
        BriefSection(key="policy_allows", title=labels["policy_allows"], text=policy_text),
        BriefSection(key="customer_type", title=labels["customer_type"], text=type_text),
        BriefSection(key="trend", title=labels["trend"], text=trend_text),
        BriefSection(key="approach", title=labels["approach"], text=approach),
        BriefSection(key="opening_line", title=labels["opening_line"], text=opening_line),
    ]
    return Brief(conversation_id=conversation.id, language=lang, engine="composer", title=labels["title"],  # type: ignore[arg-type]
                 sections=sections, opening_line=opening_line)


def _needs_by_weight(conversation: Conversation) -> list[str]:
    """Needs across the customer's turns, the most often and most recently voiced first."""
    weight: dict[str, float] = {}
    for i, point in enumerate(conversation.trend.points):
        for need in point.needs:
            weight[need] = weight.get(need, 0) + 1 + i * 0.01
    return sorted(weight, key=lambda n: -weight[n])
