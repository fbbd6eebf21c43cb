"""Learning the fusion: each channel's ranking is computed once per development question, then every point of a
grid (the constant k and each channel's weight) is fused and scored, and the best mean MRR over the sets wins."""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml
from pydantic import BaseModel

from copilot.retrieval import KnowledgeIndex
from copilot.retrieval.fusion import Fusion
from copilot.retrieval.quality import LabelledQuery, answers

_CUT = 10  # MRR counts the first relevant passage in the top 10, as `evaluate` does
GRID: dict[str, tuple[float, ...]] = {
    "k": (2, 3, 5, 10, 60),
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
    fusion: Fusion
    mrr: dict[str, float]
    default_mrr: dict[str, float]


def question_channels(index: KnowledgeIndex, queries: list[LabelledQuery]) -> list[QuestionChannels]:
    out = []
    for q in queries:
        channels, _ = index.question_retriever(q.query, _CUT, q.filters).channels(q.query)
        found = list(dict.fromkeys(key for ranking in channels.values() for key in ranking))
        passages = index.passages(found)
        out.append(QuestionChannels(channels=channels, relevant={p.chunk_id for p in passages if answers(q, p)}))
    return out


def mrr(index: KnowledgeIndex, questions: list[QuestionChannels], fusion: Fusion) -> float:
    retriever = index.retriever(_CUT)
    total = 0.0
    for q in questions:
        ranked = retriever.diversify(fusion.order(q.channels)[0])
        total += next((1 / i for i, key in enumerate(ranked, start=1) if key in q.relevant), 0.0)
    return total / max(len(questions), 1)


def tune_fusion(sets: dict[str, tuple[KnowledgeIndex, list[QuestionChannels]]]) -> TunedFusion:
    """The grid point with the best mean MRR over the sets (each set weighs the same, whatever its size)."""
    best: tuple[float, Fusion] | None = None
    for values in itertools.product(*GRID.values()):
        fusion = Fusion(**dict(zip(GRID, values, strict=True)))
        score = sum(mrr(index, qs, fusion) for index, qs in sets.values()) / len(sets)
        if best is None or score > best[0] + 1e-9:
            best = (score, fusion)
    assert best is not None
    return TunedFusion(
        fusion=best[1],
        mrr={name: round(mrr(index, qs, best[1]), 3) for name, (index, qs) in sets.items()},
        default_mrr={name: round(mrr(index, qs, Fusion()), 3) for name, (index, qs) in sets.items()},
    )


def write_fusion(path: Path, tuned: TunedFusion, sets: list[str]) -> None:
    header = (
        "# Reciprocal-rank fusion of the retrieval channels: score = sum of weight / (k + rank). Written by\n"
        f"# `copilot eval tune-fusion` on the development sets {', '.join(sets)}; MRR there {tuned.mrr}\n"
        f"# (k 60 and the default weights: {tuned.default_mrr}). Edit by hand if you like; re-run the command\n"
        "# after the knowledge or the lexicon changes much.\n"
    )
    data = tuned.fusion.model_dump()
    body = {"k": data.pop("k"), "weights": data}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
