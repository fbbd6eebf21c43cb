"""Builds the live view of a conversation from its stored turns: each customer turn read (anger, needs,
signals), each agent turn's promises put in the ledger and its text checked against what came before."""

from __future__ import annotations

import re
from datetime import datetime

from copilot.analysis import Analyzer
from copilot.analysis.models import Analysis
from copilot.checking import CheckContext, Checker
from copilot.checking.ledger import Ledger, extract_commitments
from copilot.conversation.models import (
    Conversation,
    ConversationStart,
    Role,
    Trend,
    TrendPoint,
    Turn,
    TurnReading,
)
from copilot.conversation.trend import THREATS, alerts, direction
from copilot.text.language import script_is_ambiguous

_ROLES: dict[str, Role] = {"customer": "customer", "agent": "agent"}


class ConversationReader:
    def __init__(self, analyzer: Analyzer, checker: Checker, default_script: str = "zh-Hant") -> None:
        self.analyzer = analyzer
        self.checker = checker
        self.default_script = default_script

    def read(
        self, conversation_id: str, created: datetime, start: ConversationStart, stored: list[tuple[int, str, str, datetime]]
    ) -> Conversation:
        customer_text = "\n".join(text for _, role, text, _ in stored if role == "customer")
        whole = self.analyzer.analyze(customer_text) if customer_text.strip() else None
        language = start.language or self._language(customer_text, whole)
        policy = start.policy or (f"{whole.category.domain}/{whole.category.category}" if whole and whole.category else None)
        conversation = Conversation(id=conversation_id, created_at=created, start=start, language=language, policy=policy)
        ledger = Ledger()
        points: list[TrendPoint] = []
        for index, role, text, at in stored:
            turn = Turn(index=index, role=_ROLES[role], text=text, at=at)
            if role == "customer":
                analysis = self.analyzer.analyze(text)
                anger = turn_anger(text, analysis)
                turn.reading = TurnReading(anger=anger, needs=analysis.need_names, signals=analysis.signal_names)
                points.append(TrendPoint(turn=index, at=at, anger=anger, needs=analysis.need_names,
                                         signals=analysis.signal_names))
            else:
                lang = language or "en"
                ledger.now = at
                context = CheckContext(complaint=customer_text or None, level=start.level, policy=policy, ledger=ledger)
                turn.check = self.checker.check(text, lang, context)
                turn.apology = "apologise" in turn.check.moves_present
                turn.commitments = extract_commitments(text, lang, at=at, turn=index)
                ledger = Ledger(commitments=ledger.commitments + turn.commitments,
                                apologies_in_a_row=ledger.apologies_in_a_row + 1 if turn.apology else 0,
                                agent_turns=ledger.agent_turns + 1)
            conversation.turns.append(turn)
        conversation.commitments = ledger.commitments
        conversation.apologies_in_a_row = ledger.apologies_in_a_row
        conversation.trend = Trend(points=points, direction=direction(points), alerts=alerts(points))
        return conversation

    def _language(self, customer_text: str, whole: Analysis | None):
        if whole is None:
            return None
        found = whole.reply_language
        if found in ("zh-Hant", "zh-Hans") and script_is_ambiguous(customer_text):
            return self.default_script
        return found


_PRESSING = re.compile(r"[?？!！]")


def turn_anger(text: str, analysis: Analysis) -> int:
    """Anger in one turn. The complaint lexicons are calibrated on whole complaints; a single turn is short,
    so a turn that still presses (asks, exclaims, needs something) counts one level up, and a threat to go
    over our heads means at least angry."""
    anger = analysis.anger
    if anger < 3 and (_PRESSING.search(text) or analysis.signal_names or (anger and analysis.need_names)):
        anger += 1
    if any(s in THREATS for s in analysis.signal_names):
        anger = max(anger, 2)
    return min(anger, 3)


def ledger_of(conversation: Conversation, now: datetime | None = None) -> Ledger:
    """The ledger a new agent text is held to (sent at `now`, by default just after the last turn)."""
    last = conversation.turns[-1].at if conversation.turns else None
    agent_turns = sum(1 for t in conversation.turns if t.role == "agent")
    return Ledger(commitments=conversation.commitments, apologies_in_a_row=conversation.apologies_in_a_row,
                  agent_turns=agent_turns, now=now or last)
