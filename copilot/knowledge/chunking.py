"""Chunking: sections by heading, then sentences packed up to a target size, never cut mid-sentence."""

from __future__ import annotations

import re

from copilot.knowledge.documents import Chunk, KnowledgeDocument
from copilot.text import split_sentences

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_CJK = re.compile(r"[\u3400-\u9fff]")
_CLAUSE_END = re.compile(r"(?<=[，,、：:])")


def text_size(text: str) -> float:
    """Length in 'Chinese characters': a Han character is 1, three Latin characters are about 1."""
    han = len(_CJK.findall(text))
    return han + (len(text) - han) / 3


def _looks_like_heading(line: str, next_line: str | None) -> bool:
    """A plain-text heading: a short unpunctuated line followed by prose (scraped pages have these)."""
    if not line or len(line) > 30 or re.search(r"[。！？!?；;，,:：]$", line):
        return False
    if re.match(r"([-*•·>|]|\d+[.)、]|[（(]?[一二三四五六七八九十]+[)）、])\s*", line) and not re.match(r"[一二三四五六七八九十]+、", line):
        return False  # a list item or a table row, not a heading
    if re.search(r"[。！？]", line):
        return False
    return next_line is not None and text_size(next_line) > text_size(line) * 2


def split_sections(text: str, title: str) -> list[tuple[str, str]]:
    """(section heading, section text) pairs; text before the first heading belongs to the title."""
    lines = text.split("\n")
    nonblank = [i for i, x in enumerate(lines) if x.strip()]
    next_of = {nonblank[j]: lines[nonblank[j + 1]].strip() for j in range(len(nonblank) - 1)}
    sections: list[tuple[str, list[str]]] = [(title, [])]
    for i, raw in enumerate(lines):
        line = raw.strip()
        m = _MD_HEADING.match(line)
        if m:
            heading = m.group(2).strip()
            if len(m.group(1)) == 1 and heading == title:
                continue
            sections.append((heading, []))
        elif _looks_like_heading(line, next_of.get(i)) and line != title:
            sections.append((line, []))
        elif line != title or sections[-1][1]:
            sections[-1][1].append(raw)
    out = []
    for heading, body in sections:
        joined = "\n".join(body).strip()
        if joined:
            out.append((heading, joined))
    return out


def _sentences_fitting(sentence: str, limit: int) -> list[str]:
    """A sentence longer than twice the limit is cut at clause ends; shorter ones stay whole."""
    if text_size(sentence) <= 2 * limit:
        return [sentence]
    parts, current = [], ""
    for clause in _CLAUSE_END.split(sentence):
        if current and text_size(current + clause) > limit:
            parts.append(current)
            current = ""
        current += clause
    if current:
        parts.append(current)
    return parts


def pack_sentences(text: str, limit: int) -> list[str]:
    """Pack whole sentences into pieces of about `limit`; a short tail joins the piece before it."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0.0
    for paragraph in re.split(r"\n\s*\n", text):
        for sentence in split_sentences(paragraph):
            for part in _sentences_fitting(sentence, limit):
                part_size = text_size(part)
                if current and size + part_size > limit:
                    pieces.append(_join(current))
                    current, size = [], 0.0
                current.append(part)
                size += part_size
        if current:
            current[-1] += "\n"
    if current:
        tail = _join(current)
        if pieces and text_size(tail) < limit * 0.3:
            pieces[-1] = pieces[-1] + "\n" + tail
        else:
            pieces.append(tail)
    return [p.strip() for p in pieces if p.strip()]


def _join(sentences: list[str]) -> str:
    out = ""
    for s in sentences:
        if out and not out.endswith("\n") and re.match(r"[A-Za-z0-9]", s) and re.search(r"[A-Za-z0-9.!?,;:]$", out):
            out += " "
        out += s
    return out.strip()


def written_questions(doc: KnowledgeDocument) -> dict[str, list[str]]:
    """The questions each section answers, from the front matter (`questions: {section heading: [...]}`; the
    title names the text before the first heading)."""
    raw = doc.meta.get("questions") or {}
    if not isinstance(raw, dict):
        return {}
    return {str(k).strip(): [str(q).strip() for q in (v or []) if str(q).strip()] for k, v in raw.items()}


def chunk_document(doc: KnowledgeDocument, limit: int = 360) -> list[Chunk]:
    """Split a document into retrievable chunks with stable, content-hashed ids. Each chunk carries the questions
    written for its section, if any; a document without them is searched by its heading path and text (adding
    a section's opening sentence to its later passages was tried and made passage-level search worse)."""
    chunks: list[Chunk] = []
    article = doc.article or doc.id
    questions = written_questions(doc)
    for section, body in split_sections(doc.text, doc.title):
        asks = questions.get(section, [])
        for piece in pack_sentences(body, limit):
            chunks.append(
                Chunk(
                    id=Chunk.make_id(doc.id, section, piece, asks),
                    doc_id=doc.id,
                    title=doc.title,
                    section=section,
                    text=piece,
                    kind=doc.kind,
                    domain=doc.domain,
                    language=doc.language,
                    article=article,
                    tags=doc.tags,
                    source=doc.source,
                    path=doc.path,
                    position=len(chunks),
                    asks=asks,
                )
            )
    return chunks
