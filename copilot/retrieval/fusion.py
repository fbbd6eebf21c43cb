"""Weighted reciprocal-rank fusion of the channels' rankings, with its constant and weights as data
(`knowledge/retrieval/fusion.yaml`, learned on the development sets by `copilot eval tune-fusion`)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError


class FusionError(ValueError):
    """The fusion file cannot be read."""


class Fusion(BaseModel):
    """score(d) = sum over channels c of weight(c) / (k + rank_c(d)), ranks starting at 1. A small `k` lets a
    channel's first places count for much more than its later ones."""

    k: int = Field(60, ge=1)
    dense: float = 1.0
    lexical: float = 1.0
    expansion: float = 0.5
    bridge: float = 1.0
    sentences: float = 1.0

    def weight(self, channel: str) -> float:
        return float(getattr(self, channel, 1.0))

    def fuse(self, rankings: dict[str, list[str]]) -> dict[str, float]:
        scores: dict[str, float] = {}
        for channel, ranking in rankings.items():
            weight = self.weight(channel)
            for rank, key in enumerate(ranking, start=1):
                scores[key] = scores.get(key, 0.0) + weight / (self.k + rank)
        return scores

    def order(self, rankings: dict[str, list[str]]) -> tuple[list[str], dict[str, float]]:
        """The fused ids, best first, with their scores."""
        scores = self.fuse(rankings)
        return sorted(scores, key=lambda key: -scores[key]), scores


def load_fusion(path: Path) -> Fusion:
    """The fusion in `path` (`k:` and `weights:`); the defaults when there is no file."""
    if not path.exists():
        return Fusion()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Fusion(**({"k": data["k"]} if "k" in data else {}), **(data.get("weights") or {}))
    except (yaml.YAMLError, ValidationError, TypeError, AttributeError) as exc:
        raise FusionError(f"{path}: not a valid fusion file (`k:` and a `weights:` mapping of channel to number): {exc}") from exc
