"""Hybrid retrieval as a llama-index retriever: dense (Chroma) and lexical (BM25) fused by reciprocal rank."""

from __future__ import annotations

from collections.abc import Callable

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters

from copilot.retrieval.lexical import LexicalIndex, normalise
from copilot.retrieval.models import SearchFilters


def to_llama_filters(filters: SearchFilters) -> MetadataFilters | None:
    parts = [
        MetadataFilter(key=key, value=values[0], operator=FilterOperator.EQ)
        if len(values) == 1
        else MetadataFilter(key=key, value=values, operator=FilterOperator.IN)
        for key, values in filters.as_dict().items()
    ]
    return MetadataFilters(filters=parts) if parts else None


def reciprocal_rank_fusion(rankings: list[list[str]], k: int) -> dict[str, float]:
    """score(d) = sum over rankings of 1 / (k + rank(d)), ranks starting at 1."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return scores


class HybridRetriever(BaseRetriever):
    """Fuses a dense llama-index retriever with BM25 over the same passages.

    `dense_factory(top_k, filters)` builds the dense retriever per query (filters vary), or is None for
    lexical-only retrieval. Each channel contributes `candidates` passages; the fused list is cut at `top_k`.
    """

    def __init__(
        self,
        *,
        lexical: LexicalIndex,
        nodes: Callable[[list[str]], dict[str, TextNode]],
        lexical_mask: Callable[[SearchFilters], object],
        dense_factory: Callable[[int, MetadataFilters | None], BaseRetriever] | None,
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
        self._dense_factory = dense_factory
        self.top_k = top_k
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.filters = filters or SearchFilters()
        self.extra_rankings = extra_rankings or []
        self._doc_of = doc_of
        self.per_doc = per_doc

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        query = normalise(query_bundle.query_str)
        filters = self.filters
        dense_ids: list[str] = []
        found: dict[str, TextNode] = {}
        if self._dense_factory is not None:
            dense = self._dense_factory(self.candidates, to_llama_filters(filters))
            for hit in dense.retrieve(QueryBundle(query_str=query)):
                dense_ids.append(hit.node.node_id)
                found[hit.node.node_id] = hit.node  # type: ignore[assignment]
        mask = self._lexical_mask(filters) if filters.as_dict() else None
        lexical_ids = [key for key, _ in self._lexical.search(query, self.candidates, mask=mask)]
        fused = reciprocal_rank_fusion([r for r in (dense_ids, lexical_ids, *self.extra_rankings) if r], self.rrf_k)
        ranked = self._diversify(sorted(fused, key=lambda key: -fused[key]))
        missing = [key for key in ranked if key not in found]
        if missing:
            found.update(self._nodes(missing))
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
