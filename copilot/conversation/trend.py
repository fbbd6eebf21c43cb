"""How the customer's mood moves across their turns, and when to alert the agent."""

from __future__ import annotations

from copilot.conversation.models import Alert, AlertKind, Direction, TrendPoint

THREATS = ("manager", "regulator", "media", "lawsuit")
_ALERT_TEXT = {
    "manager": "the customer asks for a manager",
    "regulator": "the customer threatens to go to a regulator",
    "media": "the customer threatens to go public",
    "lawsuit": "the customer mentions legal action",
    "furious": "the customer is furious",
    "escalating": "the conversation is escalating",
}


def direction(points: list[TrendPoint]) -> Direction:
    """Escalating when the latest turn brings a new threat or climbs to angry, or when the last three turns
    run hotter than the peak before them; calming when they run at least one level below that peak."""
    if len(points) < 2:
        return "steady"
    last, previous = points[-1], points[-2]
    seen = {s for p in points[:-1] for s in p.signals}
    if any(s in THREATS and s not in seen for s in last.signals) or (last.anger > previous.anger and last.anger >= 2):
        return "escalating"
    recent, earlier = points[-3:], points[:-3]
    mean = sum(p.anger for p in recent) / len(recent)
    peak = max(p.anger for p in earlier) if earlier else max(p.anger for p in points[:-1])
    if not earlier:
        mean = last.anger
    if mean <= peak - 1:
        return "calming"
    if mean > peak:
        return "escalating"
    return "steady"


def alerts(points: list[TrendPoint]) -> list[Alert]:
    """One alert per threat the first time it appears; one when anger climbs to 2 or more, or reaches 3."""
    out: list[Alert] = []
    seen: set[str] = set()
    for i, point in enumerate(points):
        for signal in point.signals:
            if signal in THREATS and signal not in seen:
                out.append(_alert(point.turn, signal))
        seen.update(point.signals)
        before = points[i - 1].anger if i else None
        if point.anger == 3 and (before is None or before < 3):
            out.append(_alert(point.turn, "furious"))
        elif before is not None and point.anger >= 2 and point.anger > before:
            out.append(_alert(point.turn, "escalating"))
    return out


def _alert(turn: int, kind: AlertKind) -> Alert:
    return Alert(turn=turn, kind=kind, message=f"turn {turn + 1}: {_ALERT_TEXT[kind]}")
