"""The knowledge index: chunks in Chroma (through llama-index's ChromaVectorStore) plus BM25 over them.

A rebuild re-embeds only chunks whose content hash is new; chunks that disappeared from a source are
deleted. The BM25 index is derived from what the store holds, so an API process pointed at a shared
Chroma server sees the same passages as the process that indexed them.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import BaseNode, NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.utils import legacy_metadata_dict_to_node, metadata_dict_to_node
from llama_index.vector_stores.chroma import ChromaVectorStore

from copilot.errors import InvalidInput
from copilot.knowledge.chunking import chunk_document
from copilot.knowledge.documents import Chunk, KnowledgeDocument
from copilot.retrieval.embeddings import EmbedderUnavailable, build_embedder, embedder_slug
from copilot.retrieval.expansion import QueryExpander
from copilot.retrieval.fusion import Fusion
from copilot.retrieval.lexical import LexicalIndex, normalise
from copilot.retrieval.models import IndexReport, Passage, SearchAnswer, SearchFilters
from copilot.retrieval.retriever import HybridRetriever
from copilot.retrieval.store import IndexMissing, chroma_client, collection_name
from copilot.settings import Settings
from copilot.text import detect_language, is_blank, split_sentences

ProgressFn = Callable[[int, int], None]
T = TypeVar("T")
_BATCH = 64
_RECOUNT_SECONDS = 1.0
_WORD = re.compile(r"\w")
_SENTENCES_PER_PASSAGE = 24
_SHORTEST_SENTENCE = 6
# what `passage_sentences` makes; a passage stored under another scheme gets its sentence vectors again
_SENTENCE_SCHEME = 3
# passages whose unit vectors stay in memory (about 15 KB each): the passages searches keep coming back to
_CACHED_PASSAGES = 4096
# filters whose kept passages' vectors are held as one contiguous copy
_FILTERED_COPIES = 4
_OVERSAMPLE = 2.0


class QueryError(InvalidInput):
    """The query cannot be searched as given."""

    code = "invalid_query"


def _node_from_chunk(chunk: Chunk) -> TextNode:
    node = TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata={
            "title": chunk.title,
            "section": chunk.section,
            "kind": chunk.kind,
            "domain": chunk.domain,
            "language": chunk.language,
            "article": chunk.article,
            "source": chunk.source,
            "path": chunk.path,
            "position": chunk.position,
            "tags": ",".join(chunk.tags),
            "asks": "\n".join(chunk.asks),
        },
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=chunk.doc_id)
    return node


def passage_sentences(chunk: Chunk) -> list[str]:
    """What gets a vector of its own: each question written for the passage, and its sentences (the whole
    text when no sentence is long enough). A question usually matches one of these better than the passage
    as a whole."""
    sentences = [s.strip() for s in split_sentences(chunk.text) if len(s.strip()) >= _SHORTEST_SENTENCE]
    return [*chunk.asks, *(sentences or [chunk.text.strip()])][:_SENTENCES_PER_PASSAGE]


def _sentence_id(chunk_id: str, n: int) -> str:
    return f"{chunk_id}~{n}"


def _lexical_text(metadata: dict, text: str) -> str:
    return f"{metadata.get('title', '')} {metadata.get('section', '')}\n{metadata.get('asks', '')}\n{text}"


class KnowledgeIndex:
    """Open (or create) the index described by `settings`; `expander` and `fusion` shape the query side."""

    def __init__(
        self,
        settings: Settings,
        *,
        create: bool = False,
        embedder: BaseEmbedding | Literal["auto"] | None = "auto",
        expander: QueryExpander | None = None,
        fusion: Fusion | None = None,
    ) -> None:
        self.settings = settings
        self.expander = expander
        self.fusion = fusion or Fusion()
        self.notices: list[str] = []
        if embedder == "auto":
            try:
                embedder = build_embedder(settings)
            except EmbedderUnavailable as exc:
                self.notices.append(f"dense retrieval is off, lexical only: {exc}")
                embedder = None
        self.embedder: BaseEmbedding | None = embedder
        self.client = chroma_client(settings, create=create)
        self.name = collection_name(settings, embedder_slug(self.embedder))
        if create:
            self.collection = self.client.get_or_create_collection(
                self.name, embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
        else:
            try:
                self.collection = self.client.get_collection(self.name, embedding_function=None)
            except Exception as exc:
                raise IndexMissing(self._missing_message()) from exc
        self.sentence_collection = self._sentences_collection(create)
        self.vector_store = ChromaVectorStore(chroma_collection=self.collection)
        self._lock = threading.Lock()
        self._lexical: LexicalIndex | None = None
        self._lexical_meta: list[dict] = []
        self._documents: list[str] = []
        self._doc_by_id: dict[str, str] = {}
        self._masks: dict[tuple, np.ndarray] = {}
        self._sentence_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._vectors: np.ndarray | None = None
        self._submatrices: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._allowed: dict[tuple, list[str] | None] = {}
        self._rows_by_article: dict[str, np.ndarray] = {}
        self._row_by_id: dict[str, int] = {}
        self._counted_at = 0.0
        self._lexical_count = -1
        self._generation = 0

    def _missing_message(self) -> str:
        """Why there is no collection to search, and what to run: often the index was built with another
        embedding model (its vectors cannot be compared with this one's)."""
        prefix = f"{self.settings.collection}-"
        try:
            names = [getattr(c, "name", c) for c in self.client.list_collections()]
        except Exception:
            names = []
        others = sorted(n for n in names if n.startswith(prefix) and not n.endswith("-sentences") and n != self.name)
        if others:
            built_with = ", ".join(n[len(prefix):] for n in others)
            return (
                f"the index in this store was built with another embedding model ({built_with}), not "
                f"'{self.name[len(prefix):]}' as now configured: rebuild it with `copilot kb index` (or set "
                "COPILOT_EMBEDDING back to the model it was built with)"
            )
        return f"the store has no collection '{self.name}' yet: build it with `copilot kb index`"

    def _sentences_collection(self, create: bool) -> Any:
        """The sibling collection of sentence vectors (one record per sentence, `passage` naming its passage);
        None for a lexical-only index, or an index built before sentence vectors existed."""
        if self.embedder is None or not self.settings.sentence_vectors:
            return None
        name = f"{self.name[:50]}-sentences"
        if create:
            return self.client.get_or_create_collection(name, embedding_function=None, metadata={"hnsw:space": "cosine"})
        try:
            return self.client.get_collection(name, embedding_function=None)
        except Exception:
            return None

    @property
    def generation(self) -> int:
        """Changes whenever the passages the searches see change (here, or in a shared store)."""
        return self._generation

    # ---------------------------------------------------------------- building

    def update(
        self, documents: Iterable[KnowledgeDocument], sources: Iterable[str], progress: ProgressFn | None = None
    ) -> IndexReport:
        """Make the index hold exactly the chunks of `documents` for each of `sources`."""
        docs = list(documents)
        chunks = [c for d in docs for c in chunk_document(d, self.settings.chunk_chars)]
        wanted = {c.id: c for c in chunks}
        stored: set[str] = set()
        complete: set[str] = set()
        for source in sources:
            got = self.collection.get(where={"source": source}, include=["metadatas"])
            stored.update(got["ids"])
            # a passage stored without its sentence vectors, or with ones made another way, is embedded again
            complete.update(
                cid for cid, m in zip(got["ids"], got["metadatas"], strict=True)
                if self.sentence_collection is None or (m or {}).get("sentence_scheme") == _SENTENCE_SCHEME
            )
        # passages of like length embed together: a batch is as slow as its longest passage
        new = sorted((c for cid, c in wanted.items() if cid not in complete), key=lambda c: len(c.index_text))
        stale = sorted(stored - set(wanted))
        for ids in _batches(stale + sorted((stored & set(wanted)) - complete), 500):
            self.collection.delete(ids=ids)
            if self.sentence_collection is not None:
                self.sentence_collection.delete(where={"passage": {"$in": ids}})
        done = 0
        if progress:
            progress(0, len(new))
        for batch in _batches(new, _BATCH):
            nodes = [_node_from_chunk(c) for c in batch]
            if self.sentence_collection is None:
                vectors = self._embed_passages([normalise(c.index_text) for c in batch])
                for node, vector in zip(nodes, vectors, strict=True):
                    node.embedding = vector
            else:
                # sentences first: a stored passage then always has its sentence vectors, even after an interrupt
                self._embed_by_sentence(batch, nodes)
            self.vector_store.add(nodes)
            done += len(batch)
            if progress:
                progress(done, len(new))
        self._lexical = None
        self._generation += 1
        return IndexReport(
            documents=len(docs),
            chunks=len(wanted),
            embedded=len(new),
            unchanged=len(wanted) - len(new),
            removed=len(stale),
            notices=list(self.notices),
            collection=self.name,
        )

    def _embed_by_sentence(self, chunks: list[Chunk], nodes: list[TextNode]) -> None:
        """Embed each passage's heading path, written questions and sentences as short units, store the
        questions and sentences as sentence vectors, and give the passage the mean of its units (the heading
        counted twice). The embedder's cost is per character, so short units cost what whole passages would;
        the mean finds passages as well as a passage's own vector did (better in long documents), and nothing
        is embedded twice."""
        units: dict[str, None] = {}
        plan = []
        for chunk in chunks:
            heading = normalise(chunk.heading_path)
            own = [normalise(s) for s in passage_sentences(chunk)]
            units.update(dict.fromkeys((heading, *own)))
            plan.append((chunk, heading, own))
        # like lengths together: a batch is as slow as its longest text
        texts = sorted(units, key=len)
        vectors = np.asarray(self._embed_passages(texts), dtype=np.float32)
        row = {text: n for n, text in enumerate(texts)}
        ids, embeddings, owners = [], [], []
        for (chunk, heading, own), node in zip(plan, nodes, strict=True):
            head = vectors[row[heading]]
            own_vectors = [vectors[row[t]] for t in own]
            mean = np.mean([*own_vectors, head, head], axis=0)
            node.embedding = (mean / (np.linalg.norm(mean) or 1.0)).tolist()
            node.metadata["sentences"] = len(own)
            node.metadata["sentence_scheme"] = _SENTENCE_SCHEME
            for n, vector in enumerate(own_vectors):
                ids.append(_sentence_id(chunk.id, n))
                embeddings.append(vector.tolist())
                owners.append({"passage": chunk.id})
        if ids:
            self._units().upsert(ids=ids, embeddings=embeddings, metadatas=owners)

    def _embed_passages(self, texts: list[str]) -> list[list[float]]:
        if self.embedder is None:
            return [[1.0] for _ in texts]  # lexical-only collections still need a vector per record
        return self.embedder.get_text_embedding_batch(texts)

    def count(self) -> int:
        return self.collection.count()

    # ---------------------------------------------------------------- searching

    def _ensure_lexical(self) -> LexicalIndex:
        with self._lock:
            # another process may have changed a shared store: look at most once a second (this process's
            # own updates drop the lexical index at once)
            if self._lexical is not None and time.monotonic() - self._counted_at < _RECOUNT_SECONDS:
                return self._lexical
            count = self.collection.count()
            self._counted_at = time.monotonic()
            if self._lexical is None or count != self._lexical_count:
                ids: list[str] = []
                texts: list[str] = []
                documents: list[str] = []
                metas: list[dict] = []
                vectors: list[np.ndarray] = []
                # the vectors stay in memory for filtered searches (1.5 KB a passage: 150 MB at 100,000)
                include = ["documents", "metadatas"]
                if self.embedder is not None:
                    include.append("embeddings")
                for offset in range(0, count, 5000):
                    got = self.collection.get(include=include, limit=5000, offset=offset)  # type: ignore[arg-type]
                    for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                        ids.append(cid)
                        texts.append(_lexical_text(meta, text or ""))
                        documents.append(text or "")
                        metas.append(meta)
                    if "embeddings" in include:
                        vectors.append(np.asarray(got["embeddings"], dtype=np.float32))
                self._vectors = np.concatenate(vectors) if vectors else None
                self._lexical = LexicalIndex(ids, texts)
                self._lexical_meta = metas
                self._documents = documents
                self._doc_by_id = {cid: str(m.get("document_id") or m.get("doc_id") or cid) for cid, m in zip(ids, metas, strict=True)}
                self._lexical_count = count
                self._generation += 1
                self._masks, self._allowed = {}, {}
                self._sentence_cache.clear()
                self._submatrices.clear()
                articles: dict[str, list[int]] = {}
                for row, meta in enumerate(metas):
                    articles.setdefault(str(meta.get("article", "")), []).append(row)
                self._rows_by_article = {a: np.array(rows) for a, rows in articles.items() if a}
                self._row_by_id = {cid: row for row, cid in enumerate(ids)}
            return self._lexical

    def _mask(self, filters: SearchFilters) -> np.ndarray:
        """1 for each passage the filters let through, 0 otherwise; built once per filter and index state."""
        key = _filter_key(filters)
        mask = self._masks.get(key)
        if mask is None or len(mask) != len(self._lexical_meta):
            mask = np.array([1.0 if filters.matches(m) else 0.0 for m in self._lexical_meta], dtype=np.float32)
            self._masks[key] = mask
        return mask

    def _allowed_ids(self, filters: SearchFilters) -> list[str] | None:
        """The ids the filters let through, for the store to search among (None: all of them). Chroma searches
        an id list in a few milliseconds where a metadata `where` costs tens at 10,000 passages."""
        key = _filter_key(filters)
        if key not in self._allowed:
            mask = self._mask(filters)
            ids = self._lexical.ids if self._lexical is not None else []
            self._allowed[key] = None if mask.all() else [ids[i] for i in np.flatnonzero(mask)]
        return self._allowed[key]

    def _dense_search(self, query: str, n: int, filters: SearchFilters) -> list[str]:
        """The `n` nearest passages the filters let through. Without filters, or with one that keeps most
        passages, the store's HNSW search (oversampled); otherwise, or when the oversample comes back short,
        one matrix product over the vectors held in memory with the filtered-out passages masked: exact, and
        about 6 ms at 100,000 passages where the store's search among 40,000 kept ids takes 40. English asked
        of Chinese passages goes straight to it: its nearest neighbours are English."""
        vector = self._query_vector(query)
        allowed = self._allowed_ids(filters)
        if allowed is None:
            return self._nearest(vector, n)
        if not allowed:
            return []
        mask = self._mask(filters)
        if len(allowed) * 3 >= len(mask) and not _crosses_language(detect_language(query), filters):
            # a filter that keeps a third or more: the HNSW search, oversampled, usually holds enough of them
            # (at 100,000 passages 150 neighbours cost 3 ms, a product over 50,000 kept vectors 5)
            wanted = min(len(mask), int(n * len(mask) / len(allowed) * _OVERSAMPLE) + 20)
            kept = [cid for cid in self._nearest(vector, wanted) if (row := self._row_by_id.get(cid)) is not None and mask[row]]
            if len(kept) >= n or wanted == len(mask):
                return kept[:n]
        if self._vectors is not None and len(self._vectors) == len(mask):
            return self._exact_nearest(vector, n, filters)
        return self._nearest(vector, n, among=allowed)

    def _exact_nearest(self, vector: list[float], n: int, filters: SearchFilters) -> list[str]:
        rows, matrix = self._filtered_vectors(filters)
        similarity = matrix @ np.asarray(vector, dtype=np.float32)
        n = min(n, len(rows))
        top = np.argpartition(-similarity, n - 1)[:n]
        ids = self._lexical.ids if self._lexical is not None else []
        return [ids[rows[i]] for i in top[np.argsort(-similarity[top])]]

    def _filtered_vectors(self, filters: SearchFilters) -> tuple[np.ndarray, np.ndarray]:
        """The rows a filter keeps and their vectors, contiguous: a product over the kept rows only reads what
        it needs (1.4 ms for 40,000 of 100,000 passages, against 6 to 12 over all of them masked). The last
        few filters' copies are kept."""
        key = _filter_key(filters)
        with self._cache_lock:
            found = self._submatrices.get(key)
            if found is None:
                assert self._vectors is not None
                rows = np.flatnonzero(self._mask(filters))
                found = (rows, np.ascontiguousarray(self._vectors[rows]))
                self._submatrices[key] = found
                while len(self._submatrices) > _FILTERED_COPIES:
                    self._submatrices.popitem(last=False)
            self._submatrices.move_to_end(key)
            return found

    def _ranked_rows(self, vector: list[float], rows: list[int]) -> list[int]:
        """A few passages (by row) ordered by similarity to `vector`."""
        assert self._vectors is not None
        similarity = self._vectors[rows] @ np.asarray(vector, dtype=np.float32)
        return [rows[i] for i in np.argsort(-similarity)]

    def _nearest(self, vector: list[float], n: int, among: list[str] | None = None) -> list[str]:
        """The ids of the `n` passages nearest to `vector`, best first, searched inside the store (among the
        given ids only, with `among`)."""
        n = max(1, min(n, len(among))) if among else max(1, n)
        got = self.collection.query(query_embeddings=[vector], n_results=n, ids=among, include=["distances"])
        return list(got["ids"][0]) if got["ids"] else []

    def _sentence_rank(self, query: str, candidates: list[str]) -> list[str]:
        """The candidates ranked by their unit (question or sentence) nearest to the query; candidates without
        sentence vectors are left to the other channels."""
        vectors = self._sentence_vectors(candidates)
        if not vectors:
            return []
        query_vector = np.asarray(self._query_vector(query), dtype=np.float32)
        best = {cid: float((matrix @ query_vector).max()) for cid, matrix in vectors.items()}
        return sorted(best, key=lambda cid: -best[cid])

    def _sentence_vectors(self, passage_ids: list[str]) -> dict[str, np.ndarray]:
        """Each passage's unit vectors, from a bounded cache (cleared when the passages change), the missing
        ones in one fetch by id from the store."""
        cache = self._sentence_cache
        with self._cache_lock:
            missing = [(cid, int(self._lexical_meta[row].get("sentences") or 0)) for cid in passage_ids
                       if cid not in cache and (row := self._row_by_id.get(cid)) is not None]
            ids = [_sentence_id(cid, n) for cid, count in missing for n in range(count)]
            if ids:
                got = self._units().get(ids=ids, include=["embeddings"])
                rows: dict[str, list] = {}
                for sentence_id, vector in zip(got["ids"], got["embeddings"], strict=True):
                    rows.setdefault(sentence_id.rpartition("~")[0], []).append(vector)
                for cid, found in rows.items():
                    cache[cid] = np.asarray(found, dtype=np.float32)
                while len(cache) > _CACHED_PASSAGES:
                    cache.popitem(last=False)
            out = {}
            for cid in passage_ids:
                if cid in cache:
                    cache.move_to_end(cid)
                    out[cid] = cache[cid]
            return out

    def _query_vector(self, query: str) -> list[float]:
        assert self.embedder is not None, "dense channels run only with an embedder"
        return self.embedder.get_query_embedding(query)

    def _units(self):
        """The collection of unit (question and sentence) vectors; only asked for when sentence vectors are on."""
        assert self.sentence_collection is not None, "sentence vectors are off"
        return self.sentence_collection

    def _nodes(self, ids: list[str]) -> dict[str, BaseNode]:
        """The passages with these ids, made from the copy held in memory with the lexical index (the store's
        fetch by id costs 2 to 4 ms at 100,000 passages); ids it does not hold yet are fetched from the store."""
        rows = {cid: row for cid in ids if (row := self._row_by_id.get(cid)) is not None and row < len(self._documents)}
        found: dict[str, BaseNode] = {}
        for cid, row in rows.items():
            found[cid] = _node(cid, self._lexical_meta[row], self._documents[row])
        missing = [cid for cid in ids if cid not in rows]
        if missing:
            found.update({n.node_id: n for n in self.vector_store.get_nodes(node_ids=missing)})
        return found

    def retriever(
        self,
        k: int = 5,
        filters: SearchFilters | None = None,
        extra_rankings: dict[str, list[str]] | None = None,
        sentences: bool = True,
    ) -> HybridRetriever:
        lexical = self._ensure_lexical()
        return HybridRetriever(
            lexical=lexical,
            nodes=self._nodes,
            lexical_mask=self._mask,
            dense=self._dense_search if self.embedder is not None else None,
            top_k=k,
            candidates=max(self.settings.candidates, k),
            filters=filters,
            extra_rankings=extra_rankings,
            doc_of=self._doc_of,
            per_doc=self.settings.passages_per_document,
            expander=self.expander,
            fusion=self.fusion,
            sentences=self._sentence_rank if sentences and self.sentence_collection is not None else None,
        )

    def question_retriever(self, query: str, k: int, filters: SearchFilters | None = None) -> HybridRetriever:
        """The retriever a search of this question uses: the default kinds when the filters name none, and the
        translation bridge as a channel."""
        if filters is None or not filters.kind:
            filters = (filters or SearchFilters()).model_copy(update={"kind": list(self.settings.search_kinds)})
        return self.retriever(k, filters, {"bridge": self._bridge(query, filters)})

    def _doc_of(self, chunk_id: str) -> str:
        return self._doc_by_id.get(chunk_id, chunk_id)

    def _bridge(self, query: str, filters: SearchFilters) -> list[str]:
        """Cross-lingual ranking through translations: search in the query's own language, then map each
        article found to its best passage in the requested language (translations share `article`)."""
        query_lang = detect_language(query)
        if query_lang == "other" or not _crosses_language(query_lang, filters):
            return []
        source_langs = ["en"] if query_lang == "en" else ["zh-Hant", "zh-Hans"]
        source = filters.model_copy(update={"language": source_langs})
        articles: list[str] = []
        # which articles the question is about, in its own language: the sentence channel adds little here
        for cid in self.retriever(self.settings.candidates, source, sentences=False).rank(query).ids:
            article = str(self._lexical_meta[self._row_by_id[cid]].get("article", "")) if cid in self._row_by_id else ""
            if article and article not in articles:
                articles.append(article)
        if not articles:
            return []
        target = self._mask(filters)
        all_ids = self._lexical.ids if self._lexical else []
        ranked: list[str] = []
        query_vector = self.embedder.get_query_embedding(normalise(query)) if self.embedder else None
        by_article = {}
        for article in articles:
            rows = self._rows_by_article.get(article, np.array([], dtype=int))
            by_article[article] = [all_ids[i] for i in rows[target[rows] > 0]] if len(rows) else []
        order: dict[str, int] = {}
        several = [self._row_by_id[cid] for ids in by_article.values() if len(ids) > 1 for cid in ids]
        if query_vector is not None and several and self._vectors is not None:
            # the candidates' passages ranked together by similarity to the question
            order = {all_ids[row]: i for i, row in enumerate(self._ranked_rows(query_vector, several))}
        for article in articles:
            ids = sorted(by_article[article], key=lambda cid: order.get(cid, len(order)))
            ranked.extend(ids[:2])
        return ranked

    def search(self, query: str, k: int = 5, filters: SearchFilters | None = None) -> list[Passage]:
        return self.explain(query, k, filters).passages

    def explain(self, query: str, k: int = 5, filters: SearchFilters | None = None) -> SearchAnswer:
        """Search, and say how: which channel found each passage, what the question was expanded with."""
        query = self._checked_query(query, k)
        notices = []
        if detect_language(query) == "other":
            notices.append(
                "the question is not in Chinese or English, the languages the knowledge and the word lists are "
                "in: it was matched by meaning only, so results may miss; ask in Chinese or English for better ones"
            )
        retriever = self.question_retriever(query, k, filters)
        hits = retriever.retrieve(query)
        ranking = retriever.last
        passages = [_passage(hit.node, float(hit.score or 0.0)) for hit in hits]
        expansion = ranking.expansion if ranking is not None else None
        shown = {p.chunk_id for p in passages}
        return SearchAnswer(
            passages=passages,
            expanded_with=expansion.terms if expansion else [],
            concepts=expansion.concepts if expansion else [],
            channels={name: [i for i in r if i in shown] for name, r in (ranking.channels if ranking else {}).items()},
            notices=notices,
        )

    def passages(self, ids: list[str]) -> list[Passage]:
        """The stored passages with these ids (for evaluation and inspection)."""
        found = self._nodes(ids) if ids else {}
        return [_passage(found[i], 0.0) for i in ids if i in found]

    def _checked_query(self, query: str, k: int) -> str:
        query = (query or "").strip()
        if is_blank(query):
            raise QueryError("the query is empty: type the words or the complaint you want guidance for")
        if not _WORD.search(query):
            raise QueryError("the query has no words, only punctuation or symbols: type the words or the complaint you "
                             "want guidance for")
        limit = self.settings.max_query_chars
        if len(query) > limit:
            raise QueryError(
                f"the query is {len(query):,} characters; the limit is {limit:,}. Search with the key sentence "
                "of the complaint instead (raise COPILOT_MAX_QUERY_CHARS if you really need longer queries)"
            )
        if k < 1:
            raise QueryError("k must be at least 1")
        return query


def _node(cid: str, meta: dict, text: str) -> BaseNode:
    """A stored record as a node, the way llama-index's Chroma store reads it back (records written without the
    serialised node, as `make bench` adds them, through its legacy path)."""
    try:
        node = metadata_dict_to_node(meta, text=text)
    except ValueError:
        meta, info, relationships = legacy_metadata_dict_to_node(meta)
        node = TextNode(text=text, id_=cid, metadata=meta, start_char_idx=info.get("start"),
                        end_char_idx=info.get("end"), relationships=relationships)
    return node


def _passage(node: BaseNode, score: float) -> Passage:
    meta = node.metadata
    channels = dict(meta.get("channels") or {})
    return Passage(
        chunk_id=node.node_id,
        doc_id=node.ref_doc_id or "",
        title=meta.get("title", ""),
        section=meta.get("section", ""),
        text=node.get_content(),
        score=score,
        kind=meta.get("kind", ""),
        domain=meta.get("domain", ""),
        language=meta.get("language", ""),
        article=meta.get("article", ""),
        dense_rank=channels.get("dense"),
        lexical_rank=channels.get("lexical"),
        channels=channels,
    )


def _batches(items: list[T], size: int) -> Iterable[list[T]]:
    return (items[i : i + size] for i in range(0, len(items), size))


def _crosses_language(query_lang: str, filters: SearchFilters) -> bool:
    """The filters ask for passages in another language than the question's: English asked of Chinese ones or
    the reverse (the two Chinese scripts share one normal form)."""
    family = {"zh-Hant": "zh", "zh-Hans": "zh", "en": "en"}
    wanted = {family.get(language) for language in filters.language or []}
    return bool(wanted) and family.get(query_lang) not in wanted


def _filter_key(filters: SearchFilters) -> tuple:
    return tuple(sorted((k, tuple(v)) for k, v in filters.as_dict().items()))
