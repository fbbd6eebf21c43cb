"""The learned layer: a clause classifier that adds recall to the rules.

A multinomial logistic regression over character n-grams (Chinese) and word and character n-grams (English),
trained on the labelled clauses in `knowledge/rules/examples/*.jsonl`: the clause corpus written by annotators
who never saw the rules (`corpus_*.jsonl`) and the labelled spans of the development sets. Training takes a
few seconds on two cores, so the weights are cached under the data folder, keyed by a hash of the example
files; an edited example file retrains on next use.

At check time every clause is scored in one batch; the probability of the top category is the finding's
confidence, and the checker fuses it with the rules (see `checker.py`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ValidationError

from copilot.checking.models import CATEGORIES
from copilot.text.matching import QUOTES, normalise_for_matching

LABELS: tuple[str, ...] = ("none", *(c for c in CATEGORIES if c not in ("contradicts_commitment", "repetition")))
_BUCKETS = 1 << 18
_VERSION = "lr-3"


class Example(BaseModel):
    text: str
    lang: str
    category: str


def features(text: str, chinese: bool) -> list[str]:
    """Character 1-3 grams for Chinese; word 1-2 grams and character 4-grams for English."""
    text = text.lower()
    if chinese:
        chars = re.sub(r"\s+", "", text)
        grams = [f"^{chars[:2]}", *chars]
        grams += [chars[i : i + 2] for i in range(len(chars) - 1)]
        grams += [chars[i : i + 3] for i in range(len(chars) - 2)]
        return grams
    words = re.findall(r"[a-z0-9']+", text)
    grams = [f"^{' '.join(words[:2])}", *words, *(f"{a} {b}" for a, b in itertools.pairwise(words))]
    padded = f" {' '.join(words)} "
    grams += [padded[i : i + 4] for i in range(len(padded) - 3)]
    return grams


def _hash(gram: str, key: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{key}|{gram}".encode(), digest_size=8).digest(), "little") % _BUCKETS


def _rows(texts: list[str], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse rows: feature indices, their values (1/sqrt(n)) and the row of each."""
    idx: list[int] = []
    val: list[float] = []
    row: list[int] = []
    for i, text in enumerate(texts):
        grams = sorted({_hash(g, key) for g in features(text, key == "zh")})
        weight = 1.0 / np.sqrt(max(1, len(grams)))
        idx += grams
        val += [weight] * len(grams)
        row += [i] * len(grams)
    return np.asarray(idx, dtype=np.int64), np.asarray(val, dtype=np.float32), np.asarray(row, dtype=np.int64)


def _logits(w: np.ndarray, b: np.ndarray, idx: np.ndarray, val: np.ndarray, row: np.ndarray, n: int) -> np.ndarray:
    contrib = w[idx] * val[:, None]
    out = np.stack([np.bincount(row, weights=contrib[:, c], minlength=n) for c in range(w.shape[1])], axis=1)
    return (out + b).astype(np.float32)


class _Model:
    """Softmax regression over hashed features, trained by full-batch Adam with L2. The light regularisation and
    60 steps were chosen on the realistic development set, which it is not trained on: at probability 0.9 it
    kept 0.95 precision and found 0.55 of the violations there (1e-5 and 120 steps: 0.94 / 0.36)."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray) -> None:
        self.weights, self.bias = weights, bias

    @classmethod
    def train(cls, texts: list[str], labels: list[int], key: str, epochs: int = 60, l2: float = 1e-6) -> _Model:
        n, k = len(texts), len(LABELS)
        full_idx, val, row = _rows(texts, key)
        # train on the buckets the examples use, then place them in the full table
        used, idx = np.unique(full_idx, return_inverse=True)
        y = np.zeros((n, k), dtype=np.float32)
        y[np.arange(n), labels] = 1.0
        # every category weighs as much as "none" in total: the corpus is not in proportion to real traffic
        counts = y.sum(0)
        sample_weight = (1.0 / np.maximum(counts, 1))[labels] * n / k
        w = np.zeros((len(used), k), dtype=np.float32)
        b = np.zeros(k, dtype=np.float32)
        m_w, v_w, m_b, v_b = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
        lr, beta1, beta2, eps = 0.5, 0.9, 0.999, 1e-8
        for step in range(1, epochs + 1):
            logits = _logits(w, b, idx, val, row, n)
            logits -= logits.max(1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(1, keepdims=True)
            g = (p - y) * sample_weight[:, None] / n
            contrib = g[row] * val[:, None]
            grad_w = np.stack([np.bincount(idx, weights=contrib[:, c], minlength=len(used)) for c in range(k)], axis=1)
            grad_w += l2 * w
            grad_b = g.sum(0)
            for param, grad, m, v in ((w, grad_w, m_w, v_w), (b, grad_b, m_b, v_b)):
                m *= beta1
                m += (1 - beta1) * grad
                v *= beta2
                v += (1 - beta2) * grad * grad
                param -= lr * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
        table = np.zeros((_BUCKETS, k), dtype=np.float32)
        table[used] = w
        return cls(table, b)

    def probabilities(self, texts: list[str], key: str) -> np.ndarray:
        idx, val, row = _rows(texts, key)
        logits = _logits(self.weights, self.bias, idx, val, row, len(texts))
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(1, keepdims=True)


class ClauseClassifier:
    """Scores clauses with one model per language key ("zh" for both scripts, "en")."""

    def __init__(self, models: dict[str, _Model]) -> None:
        self.models = models

    @classmethod
    def train(cls, examples: list[Example]) -> ClauseClassifier:
        models = {}
        for key in ("zh", "en"):
            mine = [e for e in examples if (e.lang == "en") == (key == "en") and e.category in LABELS]
            models[key] = _Model.train([_as_checked(e.text, key) for e in mine], [LABELS.index(e.category) for e in mine], key)
        return cls(models)

    @classmethod
    def from_folder(
        cls, folder: Path, cache: Path | None = None, compliant: Sequence[Example] = ()
    ) -> ClauseClassifier | None:
        """Train on every `*.jsonl` of {"text", "lang", "category" or "label"} lines in `folder` (None if there
        are none), plus `compliant` examples (the phrasebook's approved phrasing); with `cache`, reuse weights
        trained on the same data."""
        return cls.from_files(sorted(Path(folder).glob("*.jsonl")), cache, compliant)

    @classmethod
    def from_files(
        cls, files: list[Path], cache: Path | None = None, compliant: Sequence[Example] = ()
    ) -> ClauseClassifier | None:
        """As `from_folder`, on the given example files."""
        if not files:
            return None
        digest = hashlib.sha256(_VERSION.encode())
        for path in files:
            digest.update(path.name.encode() + path.read_bytes())
        for example in compliant:
            digest.update(f"{example.lang}|{example.text}".encode())
        cached = cache / f"clauses-{digest.hexdigest()[:16]}.npz" if cache else None
        if cached is not None and cached.exists():
            data = np.load(cached)
            return cls({key: _Model(data[f"{key}_w"], data[f"{key}_b"]) for key in ("zh", "en")})
        classifier = cls.train(_read_examples(files) + list(compliant))
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, **{f"{k}_{p}": getattr(m, a) for k, m in classifier.models.items() for p, a in (("w", "weights"), ("b", "bias"))})
            tmp.replace(cached)
        return classifier

    def probabilities(self, clauses: list[str], chinese: bool) -> list[dict[str, float]]:
        """Every label's probability per clause, in one batch."""
        if not clauses:
            return []
        p = self.models["zh" if chinese else "en"].probabilities(clauses, "zh" if chinese else "en")
        return [dict(zip(LABELS, map(float, row), strict=True)) for row in p]


def _as_checked(text: str, key: str) -> str:
    """An example in the form the checker scores clauses in (Simplified script, ASCII apostrophes), so a
    Traditional or Cantonese example teaches the same n-grams a checked zh-Hant reply shows."""
    return normalise_for_matching(text) if key == "zh" else text.translate(QUOTES)


def _read_examples(files: list[Path]) -> list[Example]:
    examples = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                examples.append(Example(text=raw["text"], lang=raw["lang"], category=raw.get("category") or raw["label"]))
            except (json.JSONDecodeError, KeyError, ValidationError) as exc:
                raise ValueError(f"{path}:{number}: not a labelled clause ({exc})") from exc
    return examples
