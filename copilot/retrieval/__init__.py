"""Retrieval: llama-index over Chroma (dense) fused with BM25 over character bigrams (lexical)."""

from copilot.retrieval.index import KnowledgeIndex, QueryError
from copilot.retrieval.models import IndexReport, Passage, SearchFilters
from copilot.retrieval.store import IndexMissing, StoreUnavailable

__all__ = ["IndexMissing", "IndexReport", "KnowledgeIndex", "Passage", "QueryError", "SearchFilters", "StoreUnavailable"]
