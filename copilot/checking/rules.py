"""The rule catalogue: YAML files in `knowledge/rules/`, validated at load with file and line named.

Chinese patterns are written once, in Simplified characters: the checker matches them against the text
after OpenCC Traditional-to-Simplified normalisation, so one pattern covers zh-Hant and zh-Hans.
English patterns are matched case-insensitively. A guard is a pattern that, when it matches the
sentence around a hit, cancels the hit (negation, a customer being reassured, a request for approval).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, Field, PrivateAttr, ValidationError, field_validator

from copilot.checking.models import CATEGORIES, MOVES, Category, Severity


def _three_languages(texts: dict[str, str]) -> dict[str, str]:
    unknown = set(texts) - {"zh-Hant", "zh-Hans", "en"}
    if unknown:
        raise ValueError(f"languages are zh-Hant, zh-Hans and en, not {', '.join(sorted(unknown))}")
    return texts


# a text in each language, looked up by a language code
Localized = Annotated[dict[str, str], AfterValidator(_three_languages)]
PatternSet = dict[Literal["zh", "en"], list[str]]


class RuleFileError(ValueError):
    """A rule file is malformed: the message names the file, the line and the problem."""


class Fix(BaseModel):
    move: str | None = Field(None, description="Phrasebook move whose phrase replaces the sentence; none removes it.")
    replace: dict[str, str] = Field(default_factory=dict, description="Plain words for flagged terms (jargon).")
    suggestion: Localized


class Examples(BaseModel):
    match: list[str] = Field(default_factory=list)
    no_match: list[str] = Field(default_factory=list)


class _Patterned(BaseModel):
    """Patterns and guards per language key ("zh" covers both scripts, "en"), compiled once per rule."""

    patterns: PatternSet
    guards: PatternSet = Field(default_factory=dict)
    _compiled: dict = PrivateAttr(default_factory=dict)

    def compiled(self, lang: str) -> tuple[list[re.Pattern[str]], list[re.Pattern[str]]]:
        key: Literal["zh", "en"] = "zh" if lang.startswith("zh") else "en"
        if key not in self._compiled:
            flags = re.IGNORECASE if key == "en" else 0
            self._compiled[key] = (
                [re.compile(p, flags) for p in self.patterns.get(key, [])],
                [re.compile(p, flags) for p in self.guards.get(key, [])],
            )
        return self._compiled[key]


P = TypeVar("P", bound=_Patterned)


class Rule(_Patterned):
    id: str
    category: Category
    severity: Severity
    name: Localized
    explanation: Localized
    fix: Fix
    examples: Examples = Field(default_factory=Examples)
    yields_to: list[Category] = Field(
        default_factory=list, description="Drop this hit when one of these categories is found in the same sentence."
    )
    line: int = 0
    file: str = ""

    @field_validator("name", "explanation")
    @classmethod
    def _all_languages(cls, value: dict) -> dict:
        missing = {"zh-Hant", "zh-Hans", "en"} - set(value)
        if missing:
            raise ValueError(f"missing languages: {', '.join(sorted(missing))}")
        return value


class MoveRule(_Patterned):
    move: str
    line: int = 0

    @field_validator("move")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in MOVES:
            raise ValueError(f"unknown move '{value}' (known: {', '.join(MOVES)})")
        return value


def _item_lines(path: Path, text: str, key: str) -> list[int]:
    """1-based line of each item in the top-level list `key`, for error messages."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for k, v in root.value:
        if k.value == key and isinstance(v, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in v.value]
    return []


_TERM = re.compile(r"<<([A-Z_]+)>>")


def _expand(path: Path, line: int, ident: str, patterns: dict, terms: dict[str, list[str]]) -> dict:
    """Replace `<<NAME>>` with the alternation of the term list NAME (longest alternatives first)."""
    out: dict[str, list[str]] = {}
    for lang, items in patterns.items():
        expanded = []
        for pattern in items:
            for name in _TERM.findall(pattern):
                if name not in terms:
                    raise RuleFileError(f"{path}:{line}: rule '{ident}': unknown term <<{name}>> (define it under 'terms:')")
            expanded.append(
                _TERM.sub(lambda m: "(?:" + "|".join(sorted(terms[m.group(1)], key=len, reverse=True)) + ")", pattern)
            )
        out[lang] = expanded
    return out


def _check_patterns(path: Path, line: int, ident: str, patterns: dict) -> None:
    for lang, items in patterns.items():
        for pattern in items:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise RuleFileError(f"{path}:{line}: rule '{ident}': bad {lang} pattern {pattern!r}: {exc}") from exc


def _read(path: Path) -> tuple[str, dict]:
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RuleFileError(f"{path}{where}: not valid YAML: {problem}") from exc
    if not isinstance(data, dict):
        raise RuleFileError(f"{path}:1: expected a mapping with 'terms:', 'rules:' and/or 'moves:'")
    return text, data


def _load_file(path: Path, terms: dict[str, list[str]]) -> tuple[list[Rule], list[MoveRule]]:
    text, data = _read(path)
    return _entries(path, text, data, "rules", Rule, terms), _entries(path, text, data, "moves", MoveRule, terms)


def _entries(path: Path, text: str, data: dict, key: str, model: type[P], terms: dict[str, list[str]]) -> list[P]:
    """The file's entries under `key`, each checked as `model` (a problem names the file and line)."""
    sink: list[P] = []
    items = data.get(key) or []
    lines = _item_lines(path, text, key)
    for i, item in enumerate(items):
        line = lines[i] if i < len(lines) else 0
        ident = item.get("id") or item.get("move") or f"#{i + 1}" if isinstance(item, dict) else f"#{i + 1}"
        if not isinstance(item, dict):
            raise RuleFileError(f"{path}:{line}: entry {ident} of '{key}' must be a mapping")
        fields = dict(item)
        for key_name in ("patterns", "guards"):
            if isinstance(fields.get(key_name), dict):
                fields[key_name] = _expand(path, line, str(ident), fields[key_name], terms)
        try:
            parsed = model(**fields, line=line, **({"file": str(path)} if model is Rule else {}))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise RuleFileError(f"{path}:{line}: entry '{ident}': {problems}") from exc
        _check_patterns(path, line, str(ident), parsed.patterns)
        _check_patterns(path, line, str(ident), parsed.guards)
        sink.append(parsed)
    return sink


class RuleCatalogue(BaseModel):
    rules: list[Rule]
    moves: list[MoveRule]

    def by_category(self, category: str) -> list[Rule]:
        return [r for r in self.rules if r.category == category]


def load_rules(folder: Path) -> RuleCatalogue:
    rules: list[Rule] = []
    moves: list[MoveRule] = []
    files = sorted(Path(folder).glob("*.yaml")) + sorted(Path(folder).glob("*.yml"))
    if not files:
        raise RuleFileError(f"{folder}: no rule files (*.yaml)")
    terms: dict[str, list[str]] = {}
    for path in files:
        _, data = _read(path)
        for name, values in (data.get("terms") or {}).items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise RuleFileError(f"{path}: term '{name}' must be a list of strings")
            terms[str(name)] = terms.get(str(name), []) + values
    seen: dict[str, str] = {}
    for path in files:
        file_rules, file_moves = _load_file(path, terms)
        for rule in file_rules:
            if rule.id in seen:
                raise RuleFileError(f"{path}:{rule.line}: duplicate rule id '{rule.id}' (first in {seen[rule.id]})")
            seen[rule.id] = f"{path}:{rule.line}"
        rules.extend(file_rules)
        moves.extend(file_moves)
    missing = set(CATEGORIES) - {r.category for r in rules}
    if missing:
        raise RuleFileError(f"{folder}: no rule for categories {', '.join(sorted(missing))}")
    return RuleCatalogue(rules=rules, moves=moves)
