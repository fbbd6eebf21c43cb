"""Hybrid retrieval as a llama-index retriever: named channels (dense, BM25, BM25 over the expansion terms,
sentence vectors, and any rankings passed in) fused by weighted reciprocal rank."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import BaseNode, NodeWithScore, QueryBundle

from copilot.retrieval.expansion import Expansion, QueryExpander
from copilot.retrieval.fusion import Fusion
from copilot.retrieval.lexical import LexicalIndex, normalise
from copilot.retrieval.models import SearchFilters

# the dense channel: (normalised query, how many, filters) -> passage ids, best first
DenseSearch = Callable[[str, int, SearchFilters], list[str]]
# a re-ranking channel: (normalised query, candidate passage ids) -> those it can rank, best first
Rerank = Callable[[str, list[str]], list[str]]
_SENTENCE_CANDIDATES = 20


@dataclass
class Ranking:
    """The outcome of a search before any passage is fetched."""

    ids: list[str]
    scores: dict[str, float]
    channels: dict[str, list[str]]
    expansion: Expansion | None = None
    ranks: dict[str, dict[str, int]] = field(init=False)

    def __post_init__(self) -> None:
        self.ranks = {name: {key: i for i, key in enumerate(r, start=1)} for name, r in self.channels.items()}

    def found_by(self, key: str) -> dict[str, int]:
        """Which channel found this passage, at which 1-based rank."""
        return {name: ranks[key] for name, ranks in self.ranks.items() if key in ranks}


class HybridRetriever(BaseRetriever):
    """Fuses a dense search with BM25 over the same passages.

    `dense(query, n, filters)` ranks passage ids by vector similarity inside the store (None for lexical-only
    retrieval); `nodes(ids)` fetches the passages of the fused list. Each channel contributes `candidates`
    passages; `expander` adds a BM25 channel over the formal terms of what the question says in other words;
    `extra_rankings` are further named channels; `sentences(query, candidates)` ranks the best candidates the
    other channels found by their best-matching sentence; `fusion` says how much each channel counts. The
    fused list is cut at `top_k`.
    """

    def __init__(
        self,
        *,
        lexical: LexicalIndex,
        nodes: Callable[[list[str]], dict[str, BaseNode]],
        lexical_mask: Callable[[SearchFilters], object],
        dense: DenseSearch | None,
        top_k: int = 5,
        candidates: int = 30,
        filters: SearchFilters | None = None,
        extra_rankings: dict[str, list[str]] | None = None,
        doc_of: Callable[[str], str] | None = None,
        per_doc: int = 0,
        expander: QueryExpander | None = None,
        fusion: Fusion | None = None,
        sentences: Rerank | None = None,
    ) -> None:
        super().__init__()
        self._lexical = lexical
        self._nodes = nodes
        self._lexical_mask = lexical_mask
        self._dense = dense
        self.top_k = top_k
        self.candidates = candidates
        self.filters = filters or SearchFilters()
        self.extra_rankings = extra_rankings or {}
        self._doc_of = doc_of
        self.per_doc = per_doc
        self.expander = expander
        self.fusion = fusion or Fusion()
        self._sentences = sentences
        self.last: Ranking | None = None

    def channels(self, query: str) -> tuple[dict[str, list[str]], Expansion | None]:
        """Each channel's ranking of passage ids, best first (empty channels left out)."""
        query = normalise(query)
        filters = self.filters
        mask = self._lexical_mask(filters) if filters.as_dict() else None
        rankings = {
            "dense": self._dense(query, self.candidates, filters) if self._dense is not None else [],
            "lexical": [key for key, _ in self._lexical.search(query, self.candidates, mask=mask)],
        }
        expansion = self.expander.expand(query) if self.expander is not None else None
        if expansion is not None and expansion.terms:
            rankings["expansion"] = [key for key, _ in self._lexical.search(expansion.query, self.candidates, mask=mask)]
        rankings.update(self.extra_rankings)
        if self._sentences is not None:
            # the best of what the other channels found, fused: fetching sentence vectors costs per passage
            candidates = self.fusion.order(rankings)[0][: max(self.top_k, _SENTENCE_CANDIDATES)]
            rankings["sentences"] = self._sentences(query, candidates)
        return {name: r for name, r in rankings.items() if r}, expansion

    def rank(self, query: str) -> Ranking:
        """The fused ids, best first and cut at `top_k`, with what each channel found, without fetching any
        passage."""
        channels, expansion = self.channels(query)
        ordered, scores = self.fusion.order(channels)
        return Ranking(self.diversify(ordered), scores, channels, expansion)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        ranking = self.last = self.rank(query_bundle.query_str)
        found = self._nodes(ranking.ids) if ranking.ids else {}
        results = []
        for key in ranking.ids:
            node = found.get(key)
            if node is None:
                continue
            node.metadata["channels"] = ranking.found_by(key)
            results.append(NodeWithScore(node=node, score=ranking.scores[key]))
        return results

    def diversify(self, ranked: list[str]) -> list[str]:
        """At most `per_doc` passages of one document before the others have had their turn (0: no cap), so
        the agent sees the best passage of several articles rather than three passages of one; when fewer
        documents than `top_k` match, their further passages fill the list in fused order."""
        if not self.per_doc or self._doc_of is None:
            return ranked[: self.top_k]
        kept: list[str] = []
        deferred: list[str] = []
        per: dict[str, int] = {}
        for key in ranked:
            doc = self._doc_of(key)
            if per.get(doc, 0) < self.per_doc:
                kept.append(key)
                per[doc] = per.get(doc, 0) + 1
                if len(kept) == self.top_k:
                    return kept
            else:
                deferred.append(key)
        return (kept + deferred)[: self.top_k]
