"""Retrieval quality on a labelled query set: hit@k and MRR over article ids."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from copilot.knowledge.cleaning import remove_injected_pinyin
from copilot.retrieval.lexical import normalise
from copilot.retrieval.models import Passage, SearchFilters

_NOT_WORD = re.compile(r"[\W_]+")


class LabelledQuery(BaseModel):
    id: str
    query: str
    lang: str
    relevant: list[str] = Field(default_factory=list, description="Article ids that answer the query.")
    answer: str = Field("", description="Or: a snippet of the source text; the passage holding it answers.")
    source: str = Field("", description="The source file the snippet is in.")
    answer_at: tuple[int, int] | None = Field(
        None,
        description="Where the snippet lies in `source` (character offsets): the sets keep the place, not the "
        "copied text, and `load_queries(..., sources=FOLDER)` reads it from the file.",
    )
    filters: SearchFilters | None = None
    type: str = ""
    crossing: str = Field("", description="en_to_zh, hans_to_hant, hant_to_hans or none: the question's language "
                          "against the text's.")
    corpus: str = Field("", description="Which knowledge the set was written over (e.g. shipped, seeds).")


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
    by_crossing: dict[str, dict[str, float]] = Field(default_factory=dict)
    outcomes: list[QueryOutcome]


def load_queries(path: Path, sources: Path | None = None) -> list[LabelledQuery]:
    """The labelled queries in `path`; those whose answer is a place in a source file get the snippet read
    from that file in the folder `sources`."""
    queries = [LabelledQuery(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts: dict[str, str] = {}
    for q in queries:
        if q.answer_at is not None and not q.answer and sources is not None:
            if q.source not in texts:
                file = sources / q.source
                if not file.is_file():
                    raise FileNotFoundError(f"{path}: query {q.id} points into {file}, which does not exist")
                texts[q.source] = file.read_text(encoding="utf-8")
            start, end = q.answer_at
            q.answer = texts[q.source][start:end]
    return queries


def _summary(outcomes: list[QueryOutcome]) -> dict[str, float]:
    n = max(len(outcomes), 1)
    return {
        "n": float(len(outcomes)),
        "hit@3": sum(1 for o in outcomes if o.rank and o.rank <= 3) / n,
        "mrr": sum(1 / o.rank for o in outcomes if o.rank) / n,
    }


def comparable(text: str) -> str:
    """Text as a passage holds it after cleaning, for finding a snippet copied from the raw source: injected
    pinyin dropped, Simplified script, lower case, only letters and digits."""
    return _NOT_WORD.sub("", normalise(remove_injected_pinyin(text)))


def answers(query: LabelledQuery, passage: Passage) -> bool:
    """The passage is from a relevant article, or holds the snippet (or, where the snippet straddles two
    passages, one of its halves)."""
    if not query.answer:
        if query.answer_at is not None:
            raise ValueError(f"query {query.id} points into {query.source}: load the set with the folder of its "
                             "source files (load_queries(path, sources=FOLDER))")
        return passage.article in query.relevant
    snippet, text = comparable(query.answer), comparable(passage.text)
    if snippet in text:
        return True
    half = len(snippet) // 2
    return half >= 6 and (snippet[:half] in text or snippet[half:] in text)


def evaluate(
    search: Callable[[str, int, SearchFilters | None], list[Passage]], queries: list[LabelledQuery], k: int = 10
) -> QualityReport:
    """Run every query through `search` and score the first passage that answers it."""
    outcomes = []
    for q in queries:
        started = time.perf_counter()
        passages = search(q.query, k, q.filters)
        elapsed = time.perf_counter() - started
        articles = [p.article for p in passages]
        rank = next((i for i, p in enumerate(passages, start=1) if answers(q, p)), None)
        outcomes.append(QueryOutcome(id=q.id, lang=q.lang, type=q.type, rank=rank, seconds=elapsed, top=articles[:5]))
    n = max(len(outcomes), 1)
    groups_lang: dict[str, list[QueryOutcome]] = defaultdict(list)
    groups_type: dict[str, list[QueryOutcome]] = defaultdict(list)
    groups_crossing: dict[str, list[QueryOutcome]] = defaultdict(list)
    for q, o in zip(queries, outcomes, strict=True):
        groups_lang[o.lang].append(o)
        groups_type[o.type].append(o)
        if q.crossing:
            groups_crossing[q.crossing].append(o)
    return QualityReport(
        queries=len(outcomes),
        hit_at_1=sum(1 for o in outcomes if o.rank == 1) / n,
        hit_at_3=sum(1 for o in outcomes if o.rank and o.rank <= 3) / n,
        hit_at_5=sum(1 for o in outcomes if o.rank and o.rank <= 5) / n,
        mrr=sum(1 / o.rank for o in outcomes if o.rank) / n,
        by_lang={k: _summary(v) for k, v in sorted(groups_lang.items())},
        by_type={k: _summary(v) for k, v in sorted(groups_type.items())},
        by_crossing={k: _summary(v) for k, v in sorted(groups_crossing.items())},
        outcomes=outcomes,
    )
