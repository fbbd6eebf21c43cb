"""Retrieval: llama-index over Chroma (dense) fused with BM25 over character bigrams (lexical)."""

from copilot.retrieval.expansion import LexiconError
from copilot.retrieval.fusion import FusionError
from copilot.retrieval.index import KnowledgeIndex, QueryError
from copilot.retrieval.models import IndexReport, Passage, SearchAnswer, SearchFilters
from copilot.retrieval.store import IndexMissing, StoreUnavailable

__all__ = [
    "FusionError",
    "IndexMissing",
    "IndexReport",
    "KnowledgeIndex",
    "LexiconError",
    "Passage",
    "QueryError",
    "SearchAnswer",
    "SearchFilters",
    "StoreUnavailable",
]
