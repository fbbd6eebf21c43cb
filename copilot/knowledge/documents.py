"""Documents and chunks, the units the knowledge base is made of."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field

Kind = Literal["guidance", "policy", "phrase", "article"]


class FrontMatterError(ValueError):
    """A document's front matter is not valid YAML or not a mapping."""


class KnowledgeDocument(BaseModel):
    """One source document after loading and cleaning."""

    id: str
    title: str
    kind: Kind = "article"
    domain: str = "general"
    language: str
    tags: list[str] = Field(default_factory=list)
    article: str | None = Field(None, description="Shared id of the translations of one article.")
    text: str = Field(description="Cleaned body text (Markdown headings kept).")
    path: str = Field("", description="Where the document was read from.")
    source: str = Field("", description="The folder the document was indexed from.")
    meta: dict[str, Any] = Field(default_factory=dict, description="Other front-matter fields.")


class Chunk(BaseModel):
    """A passage of a document, as stored in the index and returned by retrieval."""

    id: str
    doc_id: str
    title: str
    section: str = ""
    text: str
    kind: str
    domain: str
    language: str
    article: str
    tags: list[str] = Field(default_factory=list)
    source: str = ""
    path: str = ""
    position: int = 0
    asks: list[str] = Field(
        default_factory=list,
        description="The questions written for this passage's section (`questions:` in the front matter), indexed "
        "with the passage in both channels.",
    )

    @property
    def heading_path(self) -> str:
        return f"{self.title} / {self.section}" if self.section and self.section != self.title else self.title

    @property
    def index_text(self) -> str:
        """What gets embedded: the passage with its heading path and what it answers as context."""
        return "\n".join([self.heading_path, *self.asks, self.text])

    @staticmethod
    def make_id(doc_id: str, section: str, text: str, asks: list[str] | None = None) -> str:
        """Content hash: the same passage in the same document keeps its id, so it is not re-embedded (what it
        answers is part of what gets embedded, so a change there makes a new id)."""
        parts = [doc_id, section, text, *(["\x1e".join(asks)] if asks else [])]
        digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
        return digest[:32]


def parse_front_matter(raw: str, origin: str = "<text>") -> tuple[dict[str, Any], str]:
    """Split `---` YAML front matter from a Markdown body. No front matter gives an empty mapping."""
    lines = raw.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, raw
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            block = "\n".join(lines[1:i])
            body = "\n".join(lines[i + 1 :])
            try:
                data = yaml.safe_load(block) or {}
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" line {mark.line + 2}" if mark is not None else ""
                raise FrontMatterError(f"{origin}{where}: front matter is not valid YAML: {exc}") from exc
            if not isinstance(data, dict):
                raise FrontMatterError(f"{origin}: front matter must be a mapping of fields")
            return data, body
    raise FrontMatterError(f"{origin}: front matter opened with '---' but never closed")
