"""What retrieval returns."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SearchFilters(BaseModel):
    """Metadata filters; each is optional, several values mean any of them."""

    kind: list[str] | None = None
    domain: list[str] | None = None
    language: list[str] | None = None

    def as_dict(self) -> dict[str, list[str]]:
        return {k: v for k, v in self.model_dump().items() if v}

    def matches(self, metadata: dict) -> bool:
        return all(metadata.get(key) in values for key, values in self.as_dict().items())


class Passage(BaseModel):
    """A retrieved chunk, citable by `doc_id` (and `chunk_id` for the exact passage)."""

    chunk_id: str
    doc_id: str
    title: str
    section: str = ""
    text: str
    score: float = Field(description="Fused reciprocal-rank score (higher is better).")
    kind: str
    domain: str
    language: str
    article: str
    dense_rank: int | None = Field(None, description="1-based rank in the dense channel, if it found it.")
    lexical_rank: int | None = Field(None, description="1-based rank in the BM25 channel, if it found it.")
    channels: dict[str, int] = Field(
        default_factory=dict,
        description="Each channel that found the passage (dense, lexical, expansion, bridge, sentences) and its "
        "1-based rank there.",
    )


class SearchAnswer(BaseModel):
    """A search with its explanation: the passages, what the question was expanded with, and notices."""

    passages: list[Passage]
    expanded_with: list[str] = Field(default_factory=list, description="Formal terms searched in addition.")
    concepts: list[str] = Field(default_factory=list, description="Lexicon concepts the question touched.")
    channels: dict[str, list[str]] = Field(
        default_factory=dict, description="Each channel's ranking of the returned passages' ids (best first)."
    )
    notices: list[str] = Field(default_factory=list)


class IndexReport(BaseModel):
    """The outcome of an index run."""

    documents: int = 0
    chunks: int = 0
    embedded: int = Field(0, description="Chunks that were new or changed and so were embedded.")
    unchanged: int = 0
    removed: int = 0
    skipped: list[dict[str, str]] = Field(default_factory=list)
    notices: list[str] = Field(default_factory=list)
    collection: str = ""
