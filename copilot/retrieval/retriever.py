"""Hybrid retrieval as a llama-index retriever: dense (Chroma) and lexical (BM25) fused by reciprocal rank."""

from __future__ import annotations

from collections.abc import Callable

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from copilot.retrieval.lexical import LexicalIndex, normalise
from copilot.retrieval.models import SearchFilters

# the dense channel: (normalised query, how many, filters) -> passage ids, best first
DenseSearch = Callable[[str, int, SearchFilters], list[str]]


def reciprocal_rank_fusion(rankings: list[list[str]], k: int) -> dict[str, float]:
    """score(d) = sum over rankings of 1 / (k + rank(d)), ranks starting at 1."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return scores


class HybridRetriever(BaseRetriever):
    """Fuses a dense search with BM25 over the same passages.

    `dense(query, n, filters)` ranks passage ids by vector similarity inside the store (None for lexical-only
    retrieval); `nodes(ids)` fetches the passages of the fused list. Each channel contributes `candidates`
    passages; the fused list is cut at `top_k`.
    """

    def __init__(
        self,
        *,
        lexical: LexicalIndex,
        nodes: Callable[[list[str]], dict[str, TextNode]],
        lexical_mask: Callable[[SearchFilters], object],
        dense: DenseSearch | None,
        top_k: int = 5,
        candidates: int = 30,
        rrf_k: int = 60,
        filters: SearchFilters | None = None,
        extra_rankings: list[list[str]] | None = None,
        doc_of: Callable[[str], str] | None = None,
        per_doc: int = 0,
    ) -> None:
        super().__init__()
        self._lexical = lexical
        self._nodes = nodes
        self._lexical_mask = lexical_mask
        self._dense = dense
        self.top_k = top_k
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.filters = filters or SearchFilters()
        self.extra_rankings = extra_rankings or []
        self._doc_of = doc_of
        self.per_doc = per_doc

    def rank(self, query: str) -> tuple[list[str], dict[str, float], list[str], list[str]]:
        """(the fused ids, best first and cut at `top_k`; their fused scores; the dense ranking; the lexical
        ranking), without fetching any passage."""
        query = normalise(query)
        filters = self.filters
        dense_ids = self._dense(query, self.candidates, filters) if self._dense is not None else []
        mask = self._lexical_mask(filters) if filters.as_dict() else None
        lexical_ids = [key for key, _ in self._lexical.search(query, self.candidates, mask=mask)]
        fused = reciprocal_rank_fusion([r for r in (dense_ids, lexical_ids, *self.extra_rankings) if r], self.rrf_k)
        return self._diversify(sorted(fused, key=lambda key: -fused[key])), fused, dense_ids, lexical_ids

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        ranked, fused, dense_ids, lexical_ids = self.rank(query_bundle.query_str)
        found = self._nodes(ranked) if ranked else {}
        dense_rank = {key: i for i, key in enumerate(dense_ids, start=1)}
        lexical_rank = {key: i for i, key in enumerate(lexical_ids, start=1)}
        results = []
        for key in ranked:
            node = found.get(key)
            if node is None:
                continue
            node.metadata["dense_rank"] = dense_rank.get(key)
            node.metadata["lexical_rank"] = lexical_rank.get(key)
            results.append(NodeWithScore(node=node, score=fused[key]))
        return results

    def _diversify(self, ranked: list[str]) -> list[str]:
        """At most `per_doc` passages of one document in the results (0: no cap), so the agent sees the
        best passage of several articles rather than three passages of one."""
        if not self.per_doc or self._doc_of is None:
            return ranked[: self.top_k]
        kept: list[str] = []
        per: dict[str, int] = {}
        for key in ranked:
            doc = self._doc_of(key)
            if per.get(doc, 0) < self.per_doc:
                kept.append(key)
                per[doc] = per.get(doc, 0) + 1
            if len(kept) == self.top_k:
                break
        return kept
