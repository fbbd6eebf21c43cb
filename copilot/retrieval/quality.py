"""Retrieval quality on a labelled query set: hit@k and MRR over article ids."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from copilot.retrieval.models import Passage, SearchFilters


class LabelledQuery(BaseModel):
    id: str
    query: str
    lang: str
    relevant: list[str]
    filters: SearchFilters | None = None
    type: str = ""


class QueryOutcome(BaseModel):
    id: str
    lang: str
    type: str
    rank: int | None = Field(None, description="1-based rank of the first relevant passage within the cut-off.")
    seconds: float
    top: list[str]


class QualityReport(BaseModel):
    queries: int
    hit_at_1: float
    hit_at_3: float
    hit_at_5: float
    mrr: float
    by_lang: dict[str, dict[str, float]]
    by_type: dict[str, dict[str, float]]
    outcomes: list[QueryOutcome]


def load_queries(path: Path) -> list[LabelledQuery]:
    return [LabelledQuery(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _summary(outcomes: list[QueryOutcome]) -> dict[str, float]:
    n = max(len(outcomes), 1)
    return {
        "n": float(len(outcomes)),
        "hit@3": sum(1 for o in outcomes if o.rank and o.rank <= 3) / n,
        "mrr": sum(1 / o.rank for o in outcomes if o.rank) / n,
    }


def evaluate(
    search: Callable[[str, int, SearchFilters | None], list[Passage]], queries: list[LabelledQuery], k: int = 10
) -> QualityReport:
    """Run every query through `search` and score the first passage whose article is relevant."""
    outcomes = []
    for q in queries:
        started = time.perf_counter()
        passages = search(q.query, k, q.filters)
        elapsed = time.perf_counter() - started
        articles = [p.article for p in passages]
        rank = next((i for i, a in enumerate(articles, start=1) if a in q.relevant), None)
        outcomes.append(QueryOutcome(id=q.id, lang=q.lang, type=q.type, rank=rank, seconds=elapsed, top=articles[:5]))
    n = max(len(outcomes), 1)
    groups_lang: dict[str, list[QueryOutcome]] = defaultdict(list)
    groups_type: dict[str, list[QueryOutcome]] = defaultdict(list)
    for o in outcomes:
        groups_lang[o.lang].append(o)
        groups_type[o.type].append(o)
    return QualityReport(
        queries=len(outcomes),
        hit_at_1=sum(1 for o in outcomes if o.rank == 1) / n,
        hit_at_3=sum(1 for o in outcomes if o.rank and o.rank <= 3) / n,
        hit_at_5=sum(1 for o in outcomes if o.rank and o.rank <= 5) / n,
        mrr=sum(1 / o.rank for o in outcomes if o.rank) / n,
        by_lang={k: _summary(v) for k, v in sorted(groups_lang.items())},
        by_type={k: _summary(v) for k, v in sorted(groups_type.items())},
        outcomes=outcomes,
    )
