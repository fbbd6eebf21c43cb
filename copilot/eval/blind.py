"""Blind judging by people: files for reviewers who must not know which reply is ours, and the scores.

`export` writes, from an eval run and its dataset:
- `rating.jsonl`: one item per reply to rate on the rubric (on topic, invented facts, natural 1-5,
  sendable as is): the run's three drafts and, as a control, the reference reply, shuffled together;
- `pairwise.jsonl`: one item per complaint with a reference reply: our empathetic reply and the reference
  as A and B in random order, to say which the reviewer would rather send;
- `key.json`: which item is which. Keep it away from the reviewers, and give the two files to different
  reviewers so that neither can tell our drafts from the rating of the other.
`score` joins the reviewers' answers (`rating.answers.jsonl`, `pairwise.answers.jsonl`) with the key.
"""

from __future__ import annotations

import json
import random
import statistics
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from copilot.eval.dataset import EvalCase
from copilot.eval.metrics import CaseResult

RUBRIC = """Rate each reply as the first reply a company sends to this customer through the channel shown.
- on_topic: true if it addresses the customer's actual problem (not a different or generic one).
- invented_facts: true if it states anything supported neither by the complaint nor by the company policy
  note given with some items (a check already made, a cause, waiting or repeat contacts the customer did
  not mention, an amount, a date, a policy the note does not contain).
- natural: 1 (robotic, template-like, awkward) to 5 (reads like a skilled person wrote it for this customer).
- sendable: true if a careful agent could send it exactly as it is.
Answer one JSON line per item: {"item": ..., "on_topic": bool, "invented_facts": bool, "natural": n,
"sendable": bool, "note": "..."}."""

PAIRWISE = """For each complaint, two candidate first replies (A and B) through the channel shown. Say which one
you would rather send as the company's agent, or "tie" if neither is better. Answer one JSON line per item:
{"item": ..., "preferred": "A" | "B" | "tie", "why": "..."}."""


class Rating(BaseModel):
    item: str
    on_topic: bool
    invented_facts: bool
    natural: float = Field(ge=1, le=5)
    sendable: bool


class Preference(BaseModel):
    item: str
    preferred: str = Field(pattern="^(A|B|tie)$")


def export(results: list[CaseResult], cases: dict[str, EvalCase], out_dir: Path, seed: int = 7, sample: int | None = None,
           policy_note: Callable[[str], str | None] | None = None) -> dict[str, int]:
    """Write the reviewers' files and the key (for a random `sample` of the cases, or all); returns how many
    items each file holds."""
    rng = random.Random(seed)
    if sample is not None and sample < len(results):
        results = rng.sample(results, sample)
    out_dir.mkdir(parents=True, exist_ok=True)
    rating, pairwise, key = [], [], {"rating": {}, "pairwise": {}}
    for result in results:
        case = cases.get(result.id)
        if case is None or result.error:
            continue
        base = {"complaint": case.complaint, "channel": case.context.channel or "chat", "language": case.expect.lang}
        # what the agent's company policy says for this situation, when the case is labelled with one
        note = policy_note(case.expect.policy) if policy_note and case.expect.policy not in (None, "none") else None
        if note:
            base["company_policy"] = note
        replies = [(kind, text) for kind, text in result.texts.items()]
        if case.reference_reply:
            replies.append(("reference", case.reference_reply))
        rng.shuffle(replies)
        for source, text in replies:
            item = f"r{len(rating) + 1:04d}"
            rating.append(base | {"item": item, "reply": text})
            key["rating"][item] = {"case": result.id, "source": source}
        ours = result.texts.get("empathetic_reply")
        if case.reference_reply and ours:
            item = f"p{len(pairwise) + 1:04d}"
            ours_first = rng.random() < 0.5
            a, b = (ours, case.reference_reply) if ours_first else (case.reference_reply, ours)
            pairwise.append(base | {"item": item, "A": a, "B": b})
            key["pairwise"][item] = {"case": result.id, "ours": "A" if ours_first else "B"}
    rng.shuffle(rating)  # the replies of one complaint are not kept together either
    _write_jsonl(out_dir / "rating.jsonl", rating)
    _write_jsonl(out_dir / "pairwise.jsonl", pairwise)
    (out_dir / "rating.rubric.txt").write_text(RUBRIC + "\n", encoding="utf-8")
    (out_dir / "pairwise.rubric.txt").write_text(PAIRWISE + "\n", encoding="utf-8")
    (out_dir / "key.json").write_text(json.dumps(key, ensure_ascii=False, indent=1), encoding="utf-8")
    return {"rating": len(rating), "pairwise": len(pairwise)}


def score(out_dir: Path) -> dict:
    """Scores per source (each draft kind, and the reference as a control) and the pairwise preference."""
    key = json.loads((out_dir / "key.json").read_text(encoding="utf-8"))
    summary: dict = {"rating": {}, "pairwise": None}
    answers = out_dir / "rating.answers.jsonl"
    if answers.exists():
        by_source: dict[str, list[Rating]] = {}
        for rating in (Rating.model_validate_json(line) for line in _lines(answers)):
            meta = key["rating"].get(rating.item)
            if meta is not None:
                by_source.setdefault(meta["source"], []).append(rating)
        ours = [r for source, rs in by_source.items() if source != "reference" for r in rs]
        for source, rs in [*sorted(by_source.items()), ("all_drafts", ours)]:
            if rs:
                summary["rating"][source] = _rate(rs)
    answers = out_dir / "pairwise.answers.jsonl"
    if answers.exists():
        counts = {"ours": 0, "reference": 0, "tie": 0}
        for pref in (Preference.model_validate_json(line) for line in _lines(answers)):
            meta = key["pairwise"].get(pref.item)
            if meta is None:
                continue
            counts["tie" if pref.preferred == "tie" else "ours" if pref.preferred == meta["ours"] else "reference"] += 1
        total = sum(counts.values())
        summary["pairwise"] = counts | {"judged": total, "ours_preferred": round(counts["ours"] / total, 3) if total else None,
                                        "ours_at_least_as_good": round((counts["ours"] + counts["tie"]) / total, 3) if total else None}
    return summary


def _rate(ratings: list[Rating]) -> dict[str, float]:
    n = len(ratings)
    return {
        "n": n,
        "on_topic": round(sum(r.on_topic for r in ratings) / n, 3),
        "invented_facts": round(sum(r.invented_facts for r in ratings) / n, 3),
        "natural": round(statistics.fmean(r.natural for r in ratings), 2),
        "sendable": round(sum(r.sendable for r in ratings) / n, 3),
    }


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
