"""An LLM judge on the same rubric people use for blind review: on topic, invented facts, natural (1-5),
sendable as is, averaged over samples; whether it agrees with the deterministic checker; and, where the
case has a reference reply, which of the two it would rather send (sides at random, so position does not
decide)."""

from __future__ import annotations

import random
import statistics

from pydantic import BaseModel, Field

from copilot.drafting.llm import LLMEngine, LLMError


class Verdict(BaseModel):
    on_topic: bool
    invented_facts: bool
    natural: float = Field(ge=1, le=5)
    sendable: bool
    breaks_rules: bool


class Preference(BaseModel):
    preferred: str = Field(pattern="^(A|B|tie)$")


def judge(engine: LLMEngine, complaint: str, kind: str, reply: str, passages: str, checker_flags: bool, samples: int = 3,
          channel: str = "chat") -> dict[str, float] | None:
    system = engine.prompts.render("judge.system")
    user = engine.prompts.render("judge.user", complaint=complaint, passages=passages or "(none)", kind=kind, reply=reply,
                                 channel=channel)
    verdicts = []
    for _ in range(samples):
        try:
            verdicts.append(engine.structured(system, user, Verdict))
        except LLMError:
            continue
    if not verdicts:
        return None
    scores = {k: round(statistics.fmean(float(getattr(v, k)) for v in verdicts), 3)
              for k in ("on_topic", "invented_facts", "natural", "sendable")}
    scores["agreement"] = round(statistics.fmean(float(v.breaks_rules == checker_flags) for v in verdicts), 3)
    return scores


def prefer(engine: LLMEngine, complaint: str, ours: str, reference: str, channel: str, seed: str) -> float | None:
    """1.0 when ours is preferred, 0.5 for a tie, 0.0 when the reference is; None when the judge fails."""
    ours_first = random.Random(seed).random() < 0.5
    a, b = (ours, reference) if ours_first else (reference, ours)
    system = engine.prompts.render("judge_pairwise.system")
    user = engine.prompts.render("judge_pairwise.user", complaint=complaint, channel=channel, a=a, b=b)
    try:
        choice = engine.structured(system, user, Preference).preferred
    except LLMError:
        return None
    if choice == "tie":
        return 0.5
    return 1.0 if (choice == "A") == ours_first else 0.0
