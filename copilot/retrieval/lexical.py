"""Lexical retrieval: BM25 (bm25s) over character bigrams of script-normalised text."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import numpy as np

from copilot.text import to_simplified

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z]+|\d+")
_EN_STOP = frozenset(
    ["a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "with", "at", "by", "from", "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "my", "our", "your", "i", "you", "we", "they", "he", "she", "me", "us", "them", "do", "does", "did", "have", "has", "had", "not", "no", "can", "could", "would", "should", "will", "as", "if"]
)


def normalise(text: str) -> str:
    """The one normal form both channels see: Simplified script, lower case."""
    return to_simplified(text).lower()


def tokenize(text: str) -> list[str]:
    """Han runs become overlapping character bigrams (a lone character stays a unigram); Latin words
    are kept whole, minus stop words and a plural 's'; numbers stay as they are."""
    tokens: list[str] = []
    for run in _TOKEN.findall(normalise(text)):
        if run[0].isascii():
            if run in _EN_STOP:
                continue
            if run[0].isalpha() and len(run) > 3 and run.endswith("s") and not run.endswith("ss"):
                run = run[:-1]
            tokens.append(run)
        elif len(run) == 1:
            tokens.append(run)
        else:
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    return tokens


class LexicalIndex:
    """BM25 over a fixed list of passages; rebuilt in memory from the store when the index opens."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        import bm25s  # imported here: it pulls in scipy and is not needed for checking alone

        self.ids = list(ids)
        corpus = [tokenize(t) or ["\u2205"] for t in texts]
        self._bm25 = bm25s.BM25()
        # bm25s logs a progress bar per call; keep the index build quiet
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        if self.ids:
            self._bm25.index(corpus, show_progress=False)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top `k` (id, score) pairs with a positive score; `mask` (0/1 per passage) applies filters."""
        tokens = [t for t in tokenize(query) if t in self._bm25.vocab_dict] if self.ids else []
        if not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        if mask is not None:
            scores = scores * mask
        k = min(k, len(self.ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
