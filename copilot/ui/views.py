"""What the Conversation tab shows: the transcript, the mood trend, alerts, the promises ledger and the brief,
rendered from the service's models (customer text always shown literally)."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

import yaml

from copilot.conversation import Brief, Conversation
from copilot.ui.sparkline import sparkline

LABELS: dict[str, dict[str, str]] = yaml.safe_load((Path(__file__).parent / "labels.yaml").read_text(encoding="utf-8"))
TRANSCRIPT_TURNS = 12  # turns shown in the transcript (the newest, last)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")
_MD_LINE_START = re.compile(r"(?m)^(\s*)(?:([-+=])|(\d+)([.)]))")


def md_text(text: str) -> str:
    """Someone else's words shown literally in Markdown (no emphasis, links, HTML, headings or lists)."""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_LINE_START.sub(lambda m: m.group(1) + (f"\\{m.group(2)}" if m.group(2) else f"{m.group(3)}\\{m.group(4)}"), text)


def render_transcript(conversation: Conversation, labels: dict[str, str]) -> str:
    if not conversation.turns:
        return labels["no_turns"]
    shown = conversation.turns[-TRANSCRIPT_TURNS:]
    lines = []
    if len(conversation.turns) > len(shown):
        lines.append(f"*… {labels['earlier_turns'].format(n=len(conversation.turns) - len(shown))}*")
    for turn in shown:
        who = labels["customer"] if turn.role == "customer" else labels["agent"]
        meta = [f"{turn.at:%H:%M}"]
        if turn.reading is not None:
            meta.append(f"{labels['anger']} {turn.reading.anger}/3")
            if turn.reading.needs:
                meta.append(f"{labels['needs']}{labels['colon']}" + ", ".join(labels.get(f"need_{n}", n) for n in turn.reading.needs))
        if turn.check is not None and turn.check.violations:
            names = dict.fromkeys(v.name for v in turn.check.violations)
            meta.append(f"⚠ {labels['flagged_turn']}{labels['colon']}" + ", ".join(md_text(n) for n in names))
        lines.append(f"**{turn.index + 1} · {who}** · " + " · ".join(meta) + f"\n{md_text(turn.text)}")
    return "\n\n".join(lines)


def render_trend(conversation: Conversation, labels: dict[str, str]) -> str:
    points = conversation.trend.points
    if not points:
        return ""
    values = [p.anger for p in points]
    tips = [f"{labels['turn_n'].format(n=p.turn + 1)}{labels['colon']}{labels['anger']} {p.anger}/3"
            + (f", {', '.join(labels.get(f'need_{n}', n) for n in p.needs)}" if p.needs else "") for p in points]
    direction = conversation.trend.direction
    colour = {"escalating": "#dc2626", "calming": "#16a34a"}.get(direction, "inherit")
    word = labels.get(f"direction_{direction}", direction)
    return (f'<div class="trend"><div style="font-weight:600">{escape(labels["trend"])}{escape(labels["colon"])}'
            f'<span class="direction" style="color:{colour}">{escape(word)}</span></div>'
            f'{sparkline(values, tips)}'
            f'<div class="anger-values">{escape(labels["anger"])} {" → ".join(str(v) for v in values)}</div></div>')


def render_alerts(conversation: Conversation, labels: dict[str, str]) -> str:
    alerts = conversation.trend.alerts
    if not alerts:
        return ""
    rows = "".join(
        f'<div class="alert">⚠ {escape(labels["turn_n"].format(n=a.turn + 1))}{escape(labels["colon"])}'
        f'{escape(labels.get(f"alert_{a.kind}", a.message))}</div>'
        for a in reversed(alerts)  # the newest first
    )
    return ('<div class="alerts" style="border:2px solid #dc2626;background:#fef2f2;color:#991b1b;'
            f'padding:6px 10px;border-radius:6px;font-weight:600">{rows}</div>')


def render_ledger(conversation: Conversation, labels: dict[str, str]) -> str:
    if not conversation.commitments:
        return labels["nothing_promised"]
    lines = []
    for c in conversation.commitments:
        parts = [labels["turn_n"].format(n=c.turn + 1) if c.turn is not None else "", labels.get(f"commit_{c.kind}", c.kind)]
        if c.deadline_text or c.due:
            due = md_text(c.deadline_text or "") + (f" ({c.due:%m-%d %H:%M})" if c.due else "")
            parts.append(f"{labels['due']} {due.strip()}")
        if c.amount is not None:
            parts.append(f"{labels['amount']} {c.amount:g}")
        parts.append(f"“{md_text(c.text.strip())}”")
        lines.append("- " + " · ".join(p for p in parts if p))
    return "\n".join(lines)


def render_brief(brief: Brief) -> str:
    """The brief as Markdown, all of it in the brief's language."""
    labels = LABELS.get(brief.language, LABELS["en"])
    lines = [f"### {md_text(brief.title)}"]
    lines += [f"**{md_text(s.title)}**{labels['colon']}{md_text(s.text)}" for s in brief.sections]
    if brief.citations:
        lines.append(f"**{labels['sources']}**\n" + "\n".join(
            f"- {md_text(c.get('title', ''))}" + (f" / {md_text(c['section'])}" if c.get("section") else "")
            + f" `[{c.get('doc_id', '')}]`" for c in brief.citations))
    lines += [f"*{md_text(n)}*" for n in brief.notices]
    return "\n\n".join(lines)
