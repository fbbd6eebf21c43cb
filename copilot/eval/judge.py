"""An LLM judge: rubric scores for empathy, ownership, clarity and faithfulness, averaged over samples,
and whether it agrees with the deterministic checker."""

from __future__ import annotations

import statistics

from pydantic import BaseModel, Field

from copilot.drafting.llm import LLMEngine, LLMError


class Verdict(BaseModel):
    empathy: float = Field(ge=1, le=5)
    ownership: float = Field(ge=1, le=5)
    clarity: float = Field(ge=1, le=5)
    faithfulness: float = Field(ge=1, le=5)
    breaks_rules: bool


def judge(engine: LLMEngine, complaint: str, kind: str, reply: str, passages: str, checker_flags: bool, samples: int = 3) -> dict[str, float] | None:
    system = engine.prompts.render("judge.system")
    user = engine.prompts.render("judge.user", complaint=complaint, passages=passages or "(none)", kind=kind, reply=reply)
    verdicts = []
    for _ in range(samples):
        try:
            verdicts.append(engine.structured(system, user, Verdict))
        except LLMError:
            continue
    if not verdicts:
        return None
    scores = {k: round(statistics.fmean(getattr(v, k) for v in verdicts), 3) for k in ("empathy", "ownership", "clarity", "faithfulness")}
    scores["agreement"] = round(statistics.fmean(float(v.breaks_rules == checker_flags) for v in verdicts), 3)
    return scores
