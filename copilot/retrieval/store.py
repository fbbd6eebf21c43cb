"""Chroma: embedded (`PersistentClient`) by default, a Chroma server when `COPILOT_CHROMA_URL` is set."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings

from copilot.errors import Unavailable
from copilot.settings import Settings


class StoreUnavailable(Unavailable):
    """The vector store cannot be reached or opened."""

    code = "index_unavailable"


class IndexMissing(Unavailable):
    """There is no index to search yet."""

    code = "index_unavailable"


def chroma_client(settings: Settings, *, create: bool) -> chromadb.ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:
            if settings.chroma_fallback_embedded:
                logging.getLogger("copilot").warning(
                    "Chroma server %s unreachable (%s): using the embedded store at %s", settings.chroma_url, exc, settings.index_dir
                )
                return chroma_client(settings.model_copy(update={"chroma_url": None}), create=create)
            raise StoreUnavailable(
                f"cannot reach the Chroma server at {settings.chroma_url} ({exc.__class__.__name__}: {exc}); "
                "start it (chroma run --path DIR --host 127.0.0.1 --port PORT) or unset COPILOT_CHROMA_URL "
                "to use the embedded store"
            ) from exc
        return client
    path = Path(settings.index_dir)
    if not create and not (path / "chroma.sqlite3").exists():
        raise IndexMissing(
            f"no knowledge index at {path}: build it with `copilot kb index` (make run does this for you)"
        )
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise StoreUnavailable(
            f"the index at {path} cannot be opened ({exc}); delete the folder and run `copilot kb index` to rebuild it"
        ) from exc


def collection_name(settings: Settings, slug: str) -> str:
    name = f"{settings.collection}-{slug}"[:63].strip("-")
    return name if len(name) >= 3 else f"{name}-kb"
