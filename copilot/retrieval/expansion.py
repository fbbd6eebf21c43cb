"""Query expansion: the words the knowledge uses for what a question says in other words or another language.

The lexicon is data (`knowledge/retrieval/lexicon.yaml`): concept groups, each with the formal terms the
articles use and the colloquial ways agents and customers type the same thing, in zh-Hant, zh-Hans and
English. A question that contains any term of a group is also searched, as its own lexical channel, with the
group's formal terms in every language; so "客人一直飆罵" also looks for 發洩 and 情緒, and "cust wants money
back" for 退款.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from copilot.retrieval.lexical import normalise

LANGUAGES = ("zh-Hant", "zh-Hans", "en")
_CJK = re.compile(r"[\u3400-\u9fff]")


class LexiconError(ValueError):
    """The lexicon file cannot be read."""


class ConceptGroup(BaseModel):
    concept: str
    formal: dict[str, list[str]] = Field(description="The words the knowledge uses, per language.")
    colloquial: dict[str, list[str]] = Field(default_factory=dict, description="How people type it, per language.")


class Expansion(BaseModel):
    """What a question was expanded with, for the search and for `--explain`."""

    concepts: list[str] = Field(default_factory=list, description="The concept groups the question touched.")
    matched: list[str] = Field(default_factory=list, description="The question's words that touched them.")
    terms: list[str] = Field(default_factory=list, description="The formal terms searched in addition.")

    @property
    def query(self) -> str:
        return " ".join(self.terms)


class QueryExpander:
    """Finds a lexicon's terms in a question (Chinese as substrings after script normalisation, English as whole
    words allowing a plural) and returns the formal terms of the groups it touched."""

    def __init__(self, groups: list[ConceptGroup], max_terms: int = 24, per_concept: int = 6) -> None:
        self.groups = groups
        self.max_terms = max_terms
        self.per_concept = per_concept
        self._groups_of: dict[str, list[int]] = {}
        # each group's formal terms as searched: normalised once, each language in turn, duplicates dropped
        self._formal = [
            list(dict.fromkeys(k for t in _interleave([g.formal.get(lang, []) for lang in LANGUAGES]) if (k := normalise(t).strip())))
            for g in groups
        ]
        for number, group in enumerate(groups):
            for terms in (*group.formal.values(), *group.colloquial.values()):
                for term in terms:
                    key = normalise(term).strip()
                    if len(key) >= (1 if _CJK.search(key) else 2):
                        self._groups_of.setdefault(key, []).append(number)
        chinese = sorted((t for t in self._groups_of if _CJK.search(t)), key=len, reverse=True)
        latin = sorted((t for t in self._groups_of if not _CJK.search(t)), key=len, reverse=True)
        self._chinese = re.compile("|".join(map(re.escape, chinese))) if chinese else None
        self._latin = (
            re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, latin)) + r")(?:s|es)?(?![a-z0-9])") if latin else None
        )

        # one search expands its question twice (its own channels and the translation bridge's): the last few
        # answers are kept, few enough that a later search of the same words pays again
        self.expand = lru_cache(maxsize=8)(self._expand)

    def __len__(self) -> int:
        return len(self.groups)

    def _expand(self, query: str) -> Expansion:
        text = normalise(query)
        matched: list[str] = []
        # the Chinese terms need a Chinese character (English text costs the long alternation 0.2 ms for nothing)
        for pattern in (self._chinese if _CJK.search(text) else None, self._latin):
            if pattern is None:
                continue
            for m in pattern.finditer(text):
                word = m.group(0)
                key = word if word in self._groups_of else re.sub(r"(?:es|s)$", "", word)
                if key in self._groups_of and key not in matched:
                    matched.append(key)
        numbers: list[int] = []
        for key in matched:
            numbers.extend(n for n in self._groups_of[key] if n not in numbers)
        terms: list[str] = []
        for number in numbers:
            # a few terms of every concept touched, rather than all of the first one
            fresh = [term for term in self._formal[number] if term not in terms and term not in text]
            terms.extend(fresh[: self.per_concept])
        return Expansion(
            concepts=[self.groups[n].concept for n in numbers], matched=matched, terms=terms[: self.max_terms]
        )


def _interleave(lists: list[list[str]]) -> list[str]:
    return [items[i] for i in range(max(map(len, lists), default=0)) for items in lists if i < len(items)]


def load_lexicon(path: Path) -> QueryExpander | None:
    """The expander for a lexicon file; None when there is no file."""
    if not path.exists():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        groups = [ConceptGroup(**g) for g in data.get("groups", [])]
    except (yaml.YAMLError, ValidationError, TypeError, AttributeError) as exc:
        raise LexiconError(f"{path}: not a valid lexicon (a `groups:` list of concept, formal, colloquial): {exc}") from exc
    return QueryExpander(groups)
