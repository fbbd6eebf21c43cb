"""The knowledge base: indexing the shipped knowledge or a user's folders, and searching it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from copilot.analysis.classifier import (
    example_query_text,
    load_examples,
    load_vectors,
    save_vectors,
    vectors_path,
)
from copilot.knowledge.loader import SourceError, load_folder
from copilot.knowledge.policies import PolicyCategory
from copilot.parts import Parts
from copilot.retrieval import IndexReport, KnowledgeIndex, Passage, SearchAnswer, SearchFilters
from copilot.retrieval.embeddings import embedder_slug
from copilot.retrieval.index import ProgressFn
from copilot.retrieval.lexical import normalise

BUILTIN_SOURCE = "builtin:knowledge"


class Knowledge:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def index_knowledge(self, paths: Sequence[Path | str] = (), progress: ProgressFn | None = None) -> IndexReport:
        """Index the shipped knowledge base (no paths) or the given folders/files.

        Re-running is cheap: only new or changed chunks are embedded, and chunks whose source file
        disappeared are removed. Bad files are reported in the result and skipped.
        """
        sources = [(Path(p), str(Path(p).expanduser().resolve())) for p in paths] or [
            (self.parts.settings.knowledge_dir, BUILTIN_SOURCE)
        ]
        documents, skipped, notices = [], [], []
        for path, source in sources:
            report = load_folder(path, source=source)
            documents.extend(report.documents)
            skipped.extend(s.model_dump() for s in report.skipped)
            notices.extend(report.notices)
        if not documents:
            where = ", ".join(str(p) for p, _ in sources)
            raise SourceError(
                f"no readable documents in {where} (supported: .md, .txt, .html)"
                + (f"; {len(skipped)} file(s) skipped, first: {skipped[0]['path']}: {skipped[0]['reason']}" if skipped else "")
            )
        index = self.parts.open_index(create=True)
        result = index.update(documents, [s for _, s in sources], progress=progress)
        self._embed_examples(index)
        self.parts.use_index(index)
        result.skipped = skipped
        result.notices = notices + result.notices
        return result

    def _embed_examples(self, index: KnowledgeIndex) -> int:
        """Embed the labelled example complaints the classifier compares with, once: vectors shipped with
        the knowledge base or saved by an earlier run are reused. Returns how many were embedded now."""
        embedder = index.embedder
        if embedder is None:
            return 0
        slug = embedder_slug(embedder)
        folder = self.parts.layout.examples
        examples = load_examples(folder)
        known = load_vectors(folder / f"vectors-{slug}.npz")
        path = vectors_path(self.parts.settings.data_dir, slug)
        saved = load_vectors(path)
        missing = [e for e in examples if e.key not in known and e.key not in saved]
        texts = [normalise(example_query_text(e.text)) for e in missing]
        # one request per batch, not one per example (1,100 examples over HTTP took two minutes one by one)
        batch = getattr(embedder, "query_batch", None)
        vectors = batch(texts) if batch is not None else [embedder.get_query_embedding(t) for t in texts]
        for example, vector in zip(missing, vectors, strict=True):
            saved[example.key] = np.asarray(vector, dtype=np.float32)
        current = {e.key for e in examples}
        if missing or not path.exists() or set(saved) - current:
            save_vectors(path, {k: v for k, v in saved.items() if k in current})
        return len(missing)

    def search(self, query: str, k: int = 5, filters: SearchFilters | None = None) -> list[Passage]:
        """Hybrid search over the knowledge base."""
        return self.parts.index.search(query, k=k, filters=filters)

    def explain(self, query: str, k: int = 5, filters: SearchFilters | None = None) -> SearchAnswer:
        """Hybrid search with its explanation: which channel found what, the expansion terms, notices."""
        return self.parts.index.explain(query, k=k, filters=filters)

    def policy_passages(self, text: str, category: PolicyCategory, lang: str) -> list[Passage]:
        """Passages of the policy that applies, the section about this category first."""
        name = category.names.get(lang, category.names["en"])
        hits = self.search(f"{name} {text[:40]}", k=5, filters=SearchFilters(kind=["policy"], domain=[category.domain]))
        own = [h for h in hits if any(n and n in h.section for n in category.names.values())]
        return (own + [h for h in hits if h not in own])[:2]
