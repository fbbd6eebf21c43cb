"""Learning the fusion weights: each channel's ranking is computed once per development question, then every
combination of weights on a grid is fused and scored, and the one with the best mean MRR over the sets wins."""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml
from pydantic import BaseModel

from copilot.retrieval import KnowledgeIndex, SearchFilters
from copilot.retrieval.expansion import FusionWeights
from copilot.retrieval.quality import LabelledQuery, answers
from copilot.retrieval.retriever import reciprocal_rank_fusion

GRID: dict[str, tuple[float, ...]] = {
    "dense": (0.5, 1.0, 1.5),
    "lexical": (0.5, 1.0, 1.5),
    "expansion": (0.0, 0.25, 0.5, 1.0),
    "bridge": (0.5, 1.0),
    "sentences": (0.0, 0.5, 1.0, 1.5, 2.0),
}


class QuestionChannels(BaseModel):
    """One development question: each channel's ranking and which of the ranked passages answer it."""

    channels: dict[str, list[str]]
    relevant: set[str]


class TunedFusion(BaseModel):
    weights: FusionWeights
    mrr: dict[str, float]
    default_mrr: dict[str, float]


def question_channels(index: KnowledgeIndex, queries: list[LabelledQuery]) -> list[QuestionChannels]:
    out = []
    for q in queries:
        filters = q.filters or SearchFilters()
        if not filters.kind:
            filters = filters.model_copy(update={"kind": list(index.settings.search_kinds)})
        retriever = index.retriever(index.settings.candidates, filters, {"bridge": index._bridge(q.query, filters)})
        channels, _ = retriever.channels(q.query)
        found = list(dict.fromkeys(key for ranking in channels.values() for key in ranking))
        passages = index.passages(found)
        out.append(QuestionChannels(channels=channels, relevant={p.chunk_id for p in passages if answers(q, p)}))
    return out


def mrr(index: KnowledgeIndex, questions: list[QuestionChannels], weights: FusionWeights, k: int = 10) -> float:
    retriever = index.retriever(k)
    total = 0.0
    for q in questions:
        fused = reciprocal_rank_fusion(q.channels, index.settings.rrf_k, weights)
        ranked = retriever._diversify(sorted(fused, key=lambda key: -fused[key]))
        total += next((1 / i for i, key in enumerate(ranked, start=1) if key in q.relevant), 0.0)
    return total / max(len(questions), 1)


def tune_fusion(sets: dict[str, tuple[KnowledgeIndex, list[QuestionChannels]]]) -> TunedFusion:
    """The grid point with the best mean MRR over the sets (each set weighs the same, whatever its size)."""
    best: tuple[float, FusionWeights] | None = None
    for values in itertools.product(*GRID.values()):
        weights = FusionWeights(**dict(zip(GRID, values, strict=True)))
        score = sum(mrr(index, qs, weights) for index, qs in sets.values()) / len(sets)
        if best is None or score > best[0] + 1e-9:
            best = (score, weights)
    assert best is not None
    return TunedFusion(
        weights=best[1],
        mrr={name: round(mrr(index, qs, best[1]), 3) for name, (index, qs) in sets.items()},
        default_mrr={name: round(mrr(index, qs, FusionWeights()), 3) for name, (index, qs) in sets.items()},
    )


def write_fusion(path: Path, tuned: TunedFusion, sets: list[str]) -> None:
    header = (
        "# How much each retrieval channel counts in reciprocal-rank fusion. Written by `copilot eval tune-fusion`\n"
        f"# on the development sets {', '.join(sets)}; MRR there {tuned.mrr} (all weights 1: {tuned.default_mrr}).\n"
        "# Edit by hand if you like; re-run the command after the knowledge or the lexicon changes much.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump({"weights": tuned.weights.model_dump()}, sort_keys=False), encoding="utf-8")
