"""The conversation as the LLM sees it: the last turns in full, as many as fit the token budget, and a
short summary of the ones before (what the customer raised, how their mood went, what was promised)."""

from __future__ import annotations

from collections.abc import Callable

from copilot.conversation.models import Conversation, Turn
from copilot.text.sentences import split_sentences

ROLE = {"customer": "Customer", "agent": "Agent"}


def _line(turn: Turn) -> str:
    return f"[{turn.index + 1}] {ROLE[turn.role]} ({turn.at:%H:%M}): {turn.text.strip()}"


def summarise(turns: list[Turn], conversation: Conversation) -> str:
    """A deterministic summary of earlier turns (no LLM call: it must work when the LLM does not)."""
    if not turns:
        return ""
    customer = [t for t in turns if t.role == "customer"]
    first = split_sentences(customer[0].text)[:2] if customer else []
    angers = [t.reading.anger for t in customer if t.reading]
    signals = sorted({s for t in customer if t.reading for s in t.reading.signals})
    promised = [c for c in conversation.commitments if c.turn is not None and c.turn <= turns[-1].index]
    parts = [f"Turns 1-{turns[-1].index + 1} ({len(customer)} from the customer, {len(turns) - len(customer)} from the agent)."]
    if first:
        parts.append("The customer opened with: " + " ".join(first))
    if angers:
        parts.append(f"Anger by turn: {', '.join(str(a) for a in angers)} (0 calm - 3 furious).")
    if signals:
        parts.append("Signals so far: " + ", ".join(signals) + ".")
    if promised:
        parts.append("Agent promises: " + "; ".join(f'turn {c.turn + 1}: "{c.text}"' for c in promised) + ".")
    apologies = sum(1 for t in turns if t.role == "agent" and t.apology)
    if apologies:
        parts.append(f"The agent apologised in {apologies} of these turns.")
    return " ".join(parts)


def transcript(conversation: Conversation, count_tokens: Callable[[str], int], budget: int, max_turns: int) -> str:
    """Recent turns verbatim (newest kept first, at most `max_turns`, within `budget` tokens) after a summary."""
    kept: list[Turn] = []
    used = 0
    for turn in reversed(conversation.turns):
        cost = count_tokens(_line(turn))
        if len(kept) >= max_turns or (kept and used + cost > budget):
            break
        kept.insert(0, turn)
        used += cost
    older = conversation.turns[: len(conversation.turns) - len(kept)]
    parts = []
    if older:
        parts.append("Summary of earlier turns: " + summarise(older, conversation))
    parts += [_line(t) for t in kept]
    return "\n".join(parts)
