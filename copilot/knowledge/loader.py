"""Reading a folder of knowledge: Markdown, plain text and HTML; bad files reported and skipped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from copilot.knowledge.cleaning import clean_text
from copilot.knowledge.documents import FrontMatterError, KnowledgeDocument, parse_front_matter
from copilot.text import detect_language

SUPPORTED = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html", ".htm": "html"}
# Files that describe a folder rather than belong to it.
IGNORED_NAMES = {"readme.md", "license", "license.md", "licence.md"}


class SkippedFile(BaseModel):
    path: str
    reason: str


class LoadReport(BaseModel):
    """What a folder gave: the documents read, the files skipped (with why), and notices."""

    documents: list[KnowledgeDocument] = Field(default_factory=list)
    skipped: list[SkippedFile] = Field(default_factory=list)
    notices: list[str] = Field(default_factory=list)


class SourceError(ValueError):
    """The source itself cannot be used (missing, not a folder, nothing readable in it)."""


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode file bytes to text; returns (text, encoding). Raises ValueError for binary or unknown."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError("binary file (contains NUL bytes), not text")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    for encoding in ("gb18030", "big5"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        han = len(re.findall(r"[\u4e00-\u9fff]", text))
        odd = len(re.findall(r"[\ue000-\uf8ff\x80-\x9f]", text))
        if han and odd == 0:
            return text, encoding
    raise ValueError(
        f"not UTF-8 text (invalid byte at position {utf8_error.start}) and not readable as GB18030 or Big5; "
        "re-save the file as UTF-8"
    )


def iter_files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not any(part.startswith((".", "_")) for part in path.relative_to(root).parts):
            yield path


def read_document(path: Path, root: Path, source: str) -> KnowledgeDocument:
    """Read one file into a document. Raises ValueError with a reason a user can act on."""
    kind_of_file = SUPPORTED[path.suffix.lower()]
    raw, encoding = decode_bytes(path.read_bytes())
    meta, body = parse_front_matter(raw, origin=str(path)) if kind_of_file == "markdown" else ({}, raw)
    text = clean_text(body, is_html=kind_of_file == "html")
    if not text.strip():
        raise ValueError("no text left after cleaning (empty file or only navigation/markup)")
    rel = path.relative_to(root) if root.is_dir() else Path(path.name)
    title = str(meta.get("title") or _first_line_title(text) or path.stem)
    known = {"id", "title", "kind", "domain", "language", "tags", "article"}
    fields = {
        "id": str(meta.get("id") or rel.with_suffix("").as_posix()),
        "title": title,
        "kind": meta.get("kind", "article"),
        "domain": meta.get("domain", "general"),
        "language": meta.get("language") or detect_language(text),
        "tags": [str(t) for t in (meta.get("tags") or [])],
        "article": meta.get("article"),
        "text": text,
        "path": str(path),
        "source": source,
        "meta": {k: v for k, v in meta.items() if k not in known} | {"encoding": encoding},
    }
    try:
        return KnowledgeDocument(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"front matter fields are invalid: {problems}") from exc


def _first_line_title(text: str) -> str | None:
    for line in text.split("\n"):
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:80]
    return None


def load_folder(path: Path | str, source: str | None = None) -> LoadReport:
    """Load every supported file under `path`. A bad file is reported in `skipped`, never fatal."""
    root = Path(path).expanduser()
    if not root.exists():
        raise SourceError(f"{root}: no such file or folder; check the path you gave")
    source = source or str(root.resolve())
    report = LoadReport()
    seen: dict[str, str] = {}
    for file in iter_files(root):
        if file.name.lower() in IGNORED_NAMES:
            continue
        if file.suffix.lower() not in SUPPORTED:
            if file.suffix.lower() not in {".yaml", ".yml", ".py", ".json", ".jsonl", ".toml", ".npz"}:
                report.skipped.append(SkippedFile(path=str(file), reason=f"unsupported file type '{file.suffix}'"))
            continue
        try:
            doc = read_document(file, root, source)
        except (ValueError, FrontMatterError, OSError) as exc:
            report.skipped.append(SkippedFile(path=str(file), reason=str(exc)))
            continue
        if doc.id in seen:
            report.skipped.append(SkippedFile(path=str(file), reason=f"duplicate id '{doc.id}' (also in {seen[doc.id]})"))
            continue
        seen[doc.id] = str(file)
        if doc.meta.get("encoding") not in ("utf-8", None):
            report.notices.append(f"{file}: read as {doc.meta['encoding']}, not UTF-8")
        report.documents.append(doc)
    return report
