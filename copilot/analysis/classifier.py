"""What a complaint is about: the policy category it fits (or none), and its broad problem type.

Nearest neighbours over labelled example complaints (`knowledge/analysis/examples/*.jsonl`, written by
annotators across many industries, most of them about things no policy covers). The example vectors are
embedded once when the knowledge base is indexed and kept next to the index; a complaint's vector is the
same query vector retrieval uses, so classifying costs one matrix product. Where no vectors exist
(lexical-only retrieval, or an index built before the examples changed) a character n-gram TF-IDF stands
in. A category is assigned only when the complaint also says what a complaint about that situation always
says (the category's `evidence` in its policy file): neighbours alone confuse a water cut with a broadband
outage. "No policy applies" is the normal answer, not a failure.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel

from copilot.knowledge.policies import PolicyBook
from copilot.text.script import to_simplified

NONE = "none"


class Example(BaseModel):
    """One labelled complaint."""

    text: str
    language: str
    category: str | None = None
    problem_type: str | None = None

    @property
    def key(self) -> str:
        return hashlib.sha1(self.text.encode("utf-8")).hexdigest()


class ClassifierSettings(BaseModel):
    """`knowledge/analysis/classifier.yaml`: how many neighbours vote, how sharply, and the thresholds."""

    neighbours: int = 5
    temperature: float = 0.02
    category_threshold: float = 0.6
    lexical_temperature: float = 0.05
    lexical_threshold: float = 0.6
    dense_weight: float = 0.5
    lexical_confident: float = 0.3  # below this best TF-IDF similarity the wording channel's vote counts for less
    problem_neighbours: int = 10
    problem_temperature: float = 0.02


def load_examples(folder: Path) -> list[Example]:
    """Every `*.jsonl` of {text, language, category, problem_type} lines under `folder`."""
    examples = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                examples.append(Example(**json.loads(line)))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a labelled example ({exc})") from exc
    return examples


QUERY_TOKENS = 100  # a complaint says what it is about early; the embedding costs time in proportion to its length
_HAN_CHAR = re.compile(r"[\u3400-\u9fff]")


def example_query_text(text: str) -> str:
    """What is embedded for an example, and for a complaint: the same opening retrieval searches with, about
    QUERY_TOKENS tokens of it (a Chinese character is about a token, four Latin characters are about one)."""
    cost = 0.0
    for i, char in enumerate(text):
        cost += 1.0 if _HAN_CHAR.match(char) else 0.25
        if cost > QUERY_TOKENS:
            return text[:i]
    return text


@dataclass
class Reading:
    """The classifier's answer for one complaint."""

    category: str | None
    confidence: float
    candidates: list[tuple[str, float]] = field(default_factory=list)
    problem_type: str | None = None
    problem_confidence: float = 0.0
    method: str = "dense"


_HAN = re.compile(r"[\u3400-\u9fff]+")
_LATIN = re.compile(r"[a-z]+")


def _grams(text: str) -> list[str]:
    low = to_simplified(text).lower()
    grams = []
    for run in _HAN.findall(low):
        grams += [run[i : i + 2] for i in range(len(run) - 1)] or [run]
    words = [w[:6] for w in _LATIN.findall(low)]
    grams += words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    return grams


class _Tfidf:
    """Character-bigram / word TF-IDF over posting lists, for when there are no dense vectors."""

    def __init__(self, texts: list[str]) -> None:
        docs = [Counter(_grams(t)) for t in texts]
        n = len(docs)
        df: Counter[str] = Counter(g for d in docs for g in d)
        self.size = n
        self.idf = {g: math.log((1 + n) / (1 + c)) + 1 for g, c in df.items()}
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for i, d in enumerate(docs):
            weights = self._weights(d)
            for g, w in weights.items():
                ids, ws = postings.setdefault(g, ([], []))
                ids.append(i)
                ws.append(w)
        self.postings = {g: (np.array(ids), np.array(ws, dtype=np.float32)) for g, (ids, ws) in postings.items()}

    def _weights(self, counts: Counter[str]) -> dict[str, float]:
        raw = {g: (1 + math.log(c)) * self.idf[g] for g, c in counts.items() if g in self.idf}
        norm = math.sqrt(sum(v * v for v in raw.values())) or 1.0
        return {g: v / norm for g, v in raw.items()}

    def similarities(self, text: str) -> np.ndarray:
        sims = np.zeros(self.size, dtype=np.float32)
        for g, w in self._weights(Counter(_grams(text))).items():
            ids, ws = self.postings[g]
            sims[ids] += ws * w
        return sims


def _vote(similarities: np.ndarray, labels: np.ndarray, n_labels: int, k: int, temperature: float) -> np.ndarray:
    """Soft votes of the k nearest examples: weight exp((s - s_max) / T)."""
    k = min(k, len(similarities))
    top = np.argpartition(-similarities, k - 1)[:k]
    weights = np.exp((similarities[top] - similarities[top].max()) / temperature)
    votes = np.bincount(labels[top], weights=weights, minlength=n_labels)
    return votes / votes.sum()


class ComplaintClassifier:
    """Policy category (with abstention) and problem type by nearest labelled examples."""

    def __init__(
        self,
        examples: list[Example],
        policies: PolicyBook,
        settings: ClassifierSettings | None = None,
        vectors: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.settings = settings or ClassifierSettings()
        self.policies = policies
        known = {c.key for c in policies.categories()}
        self.examples = [e for e in examples if e.category is None or e.category in known]
        self.categories = [NONE, *sorted(known)]
        self._category_index = {c: i for i, c in enumerate(self.categories)}
        self._category_labels = np.array([self._category_index[e.category or NONE] for e in self.examples])
        self.problem_types = sorted({e.problem_type for e in self.examples if e.problem_type})
        self._tfidf = _Tfidf([e.text for e in self.examples])
        self._dense: np.ndarray | None = None
        if vectors:
            rows = [vectors.get(e.key) for e in self.examples]
            if all(r is not None for r in rows) and rows:
                matrix = np.stack(rows).astype(np.float32)
                self._dense = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)

    @property
    def dense(self) -> bool:
        return self._dense is not None

    def classify(self, text: str, vector: np.ndarray | list[float] | None = None) -> Reading:
        s = self.settings
        if not self.examples:
            return Reading(category=None, confidence=1.0, method="none")
        lexical = self._tfidf.similarities(text)
        votes = _vote(lexical, self._category_labels, len(self.categories), s.neighbours, s.lexical_temperature)
        sims, temperature, threshold, method = lexical, s.lexical_temperature, s.lexical_threshold, "lexical"
        if vector is not None and self._dense is not None:
            # meaning and wording vote together: each alone confuses different things
            q = np.asarray(vector, dtype=np.float32)
            sims = self._dense @ (q / (np.linalg.norm(q) or 1.0))
            dense = _vote(sims, self._category_labels, len(self.categories), s.neighbours, s.temperature)
            # wording that barely overlaps any example (a short message, another script) says little
            lexical_weight = (1 - s.dense_weight) * min(1.0, float(lexical.max()) / s.lexical_confident)
            votes = (1 - lexical_weight) * dense + lexical_weight * votes
            temperature, threshold, method = s.temperature, s.category_threshold, "dense+lexical"
        normalised = to_simplified(text)
        for i, key in enumerate(self.categories):
            if i and votes[i] > 0:
                category = self.policies.category(key)
                if category is None or not category.is_evident_in(normalised):
                    votes[i] = 0.0  # the neighbours say so, but the complaint does not
        votes = votes / votes.sum() if votes.sum() else votes
        ranked = sorted(((self.categories[i], float(v)) for i, v in enumerate(votes) if v > 0.01), key=lambda kv: -kv[1])
        best, confidence = ranked[0] if ranked else (NONE, 1.0)
        category = best if best != NONE and confidence >= threshold else None
        if category is None:
            confidence = float(votes[0]) if best == NONE else 1.0 - confidence
        problem, problem_confidence = self._problem_type(sims, temperature if method == "lexical" else s.problem_temperature)
        return Reading(category=category, confidence=round(confidence, 3), candidates=ranked[:3], problem_type=problem,
                       problem_confidence=round(problem_confidence, 3), method=method)

    def _problem_type(self, sims: np.ndarray, temperature: float) -> tuple[str | None, float]:
        labelled = [i for i, e in enumerate(self.examples) if e.problem_type]
        if not labelled or not self.problem_types:
            return None, 0.0
        index = {p: i for i, p in enumerate(self.problem_types)}
        labels = np.array([index[self.examples[i].problem_type] for i in labelled])  # type: ignore[index]
        votes = _vote(sims[labelled], labels, len(self.problem_types), self.settings.problem_neighbours, temperature)
        best = int(votes.argmax())
        return self.problem_types[best], float(votes[best])


# ---------------------------------------------------------------------------------------------- vectors


def load_classifier_settings(path: Path) -> ClassifierSettings:
    return ClassifierSettings(**(yaml.safe_load(path.read_text(encoding="utf-8")) or {})) if path.exists() else ClassifierSettings()


def vectors_path(data_dir: Path, slug: str) -> Path:
    return data_dir / "models" / f"examples-{slug}.npz"


def load_vectors(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def save_vectors(path: Path, vectors: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **{k: v.astype(np.float16) for k, v in vectors.items()})
    tmp.replace(path)
