"""How well a followed conversation is read: promises put in the ledger (with their due times), anger and
escalation signals per customer turn, the turn an escalation starts, and the final direction of the trend.

Each conversation file is replayed turn by turn into the service (a real conversation store) and compared with
its labels (see evals/conversations/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from copilot.conversation import ConversationStart, MessageIn

# "will call you" and "will send you an update" answer the same question: the ledger treats them alike
_GROUP = {"update": "callback"}


class Counts(BaseModel):
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


class ConversationScores(BaseModel):
    conversations: int
    commitment_precision: float
    commitment_recall: float
    due_accuracy: float  # of promises found that have a labelled time: due within max(1 h, 20 %)
    anger_exact: float
    anger_within_one: float
    signal_precision: float
    signal_recall: float
    escalation_turn_accuracy: float
    direction_accuracy: float
    misses: list[str]


def evaluate_conversations(copilot, files: list[Path]) -> ConversationScores:
    commitments, signals = Counts(), Counts()
    due_ok = due_n = anger_exact = anger_near = anger_n = escalation_ok = direction_ok = 0
    misses: list[str] = []
    for path in files:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        policy = data.get("policy") if copilot.policies.category(data.get("policy") or "") else None
        started = copilot.start_conversation(ConversationStart(policy=policy, channel=data.get("channel")))
        for turn in data["turns"]:
            copilot.add_message(started.id, MessageIn(role=turn["role"], text=turn["text"], at=turn["at"]))
        conversation = copilot.conversation(started.id)
        name = Path(path).stem
        for label, turn in zip(data["turns"], conversation.turns, strict=True):
            expect = label["expect"]
            if turn.role == "customer" and turn.reading is not None:
                anger_n += 1
                anger_exact += turn.reading.anger == expect["anger"]
                anger_near += abs(turn.reading.anger - expect["anger"]) <= 1
                got, want = set(turn.reading.signals), set(expect["signals"])
                signals.tp += len(got & want)
                signals.fp += len(got - want)
                signals.fn += len(want - got)
                continue
            used: set[int] = set()
            for wanted in expect.get("commitments", []):
                group = _GROUP.get(wanted["kind"], wanted["kind"])
                hit = next((i for i, c in enumerate(turn.commitments) if i not in used and _GROUP.get(c.kind, c.kind) == group), None)
                if hit is None:
                    commitments.fn += 1
                    misses.append(f"{name} turn {turn.index}: missed {wanted['kind']} “{wanted['quote']}”")
                    continue
                used.add(hit)
                commitments.tp += 1
                if wanted.get("hours") is not None:
                    due_n += 1
                    found = turn.commitments[hit].hours
                    due_ok += found is not None and abs(found - wanted["hours"]) <= max(1.0, 0.2 * wanted["hours"])
            for i, c in enumerate(turn.commitments):
                if i not in used:
                    commitments.fp += 1
                    misses.append(f"{name} turn {turn.index}: extra {c.kind} “{c.text}”")
        first = next((a.turn for a in conversation.trend.alerts if a.kind in ("manager", "regulator", "media", "lawsuit")), None)
        escalation_ok += first == data["expect"]["escalates_at"]
        direction_ok += conversation.trend.direction == data["expect"]["final_direction"]
    n = max(1, len(files))
    return ConversationScores(
        conversations=len(files),
        commitment_precision=round(commitments.precision, 3),
        commitment_recall=round(commitments.recall, 3),
        due_accuracy=round(due_ok / due_n, 3) if due_n else 1.0,
        anger_exact=round(anger_exact / max(1, anger_n), 3),
        anger_within_one=round(anger_near / max(1, anger_n), 3),
        signal_precision=round(signals.precision, 3),
        signal_recall=round(signals.recall, 3),
        escalation_turn_accuracy=round(escalation_ok / n, 3),
        direction_accuracy=round(direction_ok / n, 3),
        misses=misses,
    )
