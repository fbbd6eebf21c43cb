"""Loading folders, chunking, and incremental (content-hashed) index rebuilds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copilot.cli import app
from copilot.knowledge.chunking import chunk_document, pack_sentences, text_size
from copilot.knowledge.documents import KnowledgeDocument
from copilot.knowledge.loader import SourceError, load_folder
from copilot.service import Copilot

ARTICLE = """---
id: refunds
title: 退款說明
kind: guidance
domain: ecommerce
language: zh-Hant
tags: [refund]
---
## 退款時間
退款會在收到退貨後處理。款項退回原付款方式。若超過七天仍未到帳，請告訴我們，我們會幫您查詢。

## 換貨
商品有瑕疵時可以換貨。我們會安排取件，取件後三天內寄出新品。
"""


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_bad_files_are_reported_and_skipped_never_fatal(tmp_path: Path):
    _write(tmp_path, "good.md", ARTICLE)
    _write(tmp_path, "gbk.txt", "客戶投訴的時候，先讓客戶把話說完，再說明我們接下來會怎麼處理這件事情。".encode("gb18030"))
    _write(tmp_path, "binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    _write(tmp_path, "latin1.md", "Caf\xe9 cr\xe8me br\xfbl\xe9e".encode("latin-1") + b"\xff\xfe\xfd" * 3)
    _write(tmp_path, "empty.md", "")
    _write(tmp_path, "broken.md", "---\nid: [unclosed\ntitle: x\n---\nbody text that is long enough.")
    _write(tmp_path, "picture.png", b"\x89PNG")
    report = load_folder(tmp_path)
    ids = {d.id for d in report.documents}
    assert ids == {"refunds", "gbk"}
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.md"]
    assert "no text" in reasons["empty.md"]
    assert "YAML" in reasons["broken.md"] and "line" in reasons["broken.md"]
    assert "unsupported" in reasons["picture.png"]
    assert any("gb18030" in n for n in report.notices)


def test_missing_source_is_a_clear_error(tmp_path: Path):
    with pytest.raises(SourceError, match="no such file or folder"):
        load_folder(tmp_path / "nope")


def test_chunks_end_at_sentence_ends_and_stay_near_the_target_size():
    text = "".join(f"這是第{i}句話，內容是關於客訴處理的一個重點說明。" for i in range(60))
    pieces = pack_sentences(text, limit=120)
    assert len(pieces) > 5
    for piece in pieces:
        assert piece.endswith("。"), piece[-10:]
        assert text_size(piece) <= 120 * 1.3
    assert "".join(pieces) == text


def test_english_chunks_do_not_glue_words_together():
    text = "First sentence here. Second one follows! Third is a question? " * 40
    pieces = pack_sentences(text, limit=60)
    assert all(not re.search(r"[.!?][A-Z]", p) for p in pieces)


def test_chunk_ids_are_content_hashes():
    doc = KnowledgeDocument(id="refunds", title="t", language="zh-Hant", text="## A\n第一句。第二句。")
    first = chunk_document(doc)
    again = chunk_document(doc.model_copy())
    assert [c.id for c in first] == [c.id for c in again]
    changed = chunk_document(doc.model_copy(update={"text": "## A\n第一句。第二句改了。"}))
    assert first[0].id != changed[0].id
    assert first[0].section == "A"


def test_rebuild_embeds_only_changed_chunks_and_drops_removed_ones(tmp_path: Path, lexical_settings):
    folder = tmp_path / "src"
    _write(folder, "refunds.md", ARTICLE)
    _write(folder, "other.md", ARTICLE.replace("id: refunds", "id: other").replace("退款說明", "其他說明"))
    service = Copilot(lexical_settings)
    first = service.index_knowledge([folder])
    assert first.embedded == first.chunks and first.removed == 0
    again = service.index_knowledge([folder])
    assert again.embedded == 0 and again.unchanged == first.chunks
    _write(folder, "refunds.md", ARTICLE.replace("取件後三天內寄出新品", "取件後五天內寄出新品"))
    (folder / "other.md").unlink()
    third = service.index_knowledge([folder])
    assert third.embedded == 1  # only the edited passage
    assert third.removed == 1 + (first.chunks // 2)  # the old passage and every chunk of the deleted file
    assert service.index.count() == third.chunks
    hits = service.search_knowledge("換貨要多久寄出")
    assert hits and "五天" in hits[0].text


def test_cli_index_reports_skipped_files_and_searches(tmp_path: Path):
    folder = tmp_path / "src"
    _write(folder, "refunds.md", ARTICLE)
    _write(folder, "bad.txt", b"\x00\x01\x02binary")
    store = tmp_path / "store"
    runner = CliRunner()
    env = {"COPILOT_EMBEDDING": "none"}
    result = runner.invoke(app, ["kb", "index", str(folder), "--store", str(store)], env=env)
    assert result.exit_code == 0, result.output
    assert "indexed 1 documents" in result.stdout
    assert "skipped" in result.stderr and "bad.txt" in result.stderr and "binary" in result.stderr
    result = runner.invoke(app, ["kb", "search", "退款多久到帳", "--store", str(store), "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert '"doc_id": "refunds"' in result.stdout


def test_cli_errors_name_the_problem_and_the_fix(tmp_path: Path):
    runner = CliRunner()
    env = {"COPILOT_EMBEDDING": "none"}
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["kb", "index", str(empty), "--store", str(tmp_path / "s")], env=env)
    assert result.exit_code == 2 and "no readable documents" in result.stderr
    result = runner.invoke(app, ["kb", "search", "退款", "--store", str(tmp_path / "missing")], env=env)
    assert result.exit_code == 2 and "copilot kb index" in result.stderr
    folder = tmp_path / "src"
    _write(folder, "refunds.md", ARTICLE)
    store = str(tmp_path / "store")
    assert runner.invoke(app, ["kb", "index", str(folder), "--store", store], env=env).exit_code == 0
    result = runner.invoke(app, ["kb", "search", "   ", "--store", store], env=env)
    assert result.exit_code == 2 and "empty" in result.stderr
    result = runner.invoke(app, ["kb", "search", "退" * 1_000_000, "--store", store], env=env)
    assert result.exit_code == 2 and "1,000,000 characters" in result.stderr
