"""Clause roles: what each clause of a reply does, read before the rules.

The roles and the categories each one rules out are data (`knowledge/rules/roles.yaml`). A question to the
customer is not a denial, a troubleshooting step is not an excuse, a disclaimer is not an overpromise, a
neutral precondition is not blame: the checker drops a finding whose words sit in a clause whose role
rules its category out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator

from copilot.checking.models import CATEGORIES, ClauseRole, Role
from copilot.checking.rules import RuleFileError, _check_patterns, _item_lines, _Patterned, _read
from copilot.text.sentences import sentence_bounds

# Clause breaks inside a sentence; a menu path ("设置 > 通用") and a clock time ("19:30") stay whole.
_BREAK = {
    "zh": re.compile(r"[，,；;]|(?<!\d)[：:](?!\d)"),
    "en": re.compile(r"[;；]|,\s+(?=(but|and|so|then|because|although|though|however|which)\b)|\s[-–—]\s", re.IGNORECASE),
}
_CONNECTIVE = {
    "zh": re.compile(r"^(然后|接着|再|并且|并|同时|另外|此外|也|而且|所以|因此|不过|但是|但|麻烦您?再)\s*"),
    "en": re.compile(r"^(and then|then|and|also|so|but|however|next|finally|first|second|after that)\b,?\s*", re.IGNORECASE),
}


class RolePatterns(_Patterned):
    """A role: its patterns, the `unless` patterns that cancel it (compiled as a rule's guards), and the
    categories it rules out."""

    model_config = ConfigDict(populate_by_name=True)

    role: Role
    guards: dict[Literal["zh", "en"], list[str]] = Field(default_factory=dict, alias="unless")
    rules_out: list[str]
    spans_only: bool = Field(False, description="Rule out findings on the matched words only, not on the whole clause.")
    line: int = 0

    @field_validator("rules_out")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = set(value) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"rules_out names unknown categories: {', '.join(sorted(unknown))}")
        return value


class RoleReader:
    """Reads each clause's role, in the order the role file lists them (first match wins)."""

    def __init__(self, roles: list[RolePatterns]) -> None:
        self.roles = roles
        # plain tuples for the hot loop (a pydantic attribute costs a lookup per clause and role)
        self._table = {key: [(r.role, *r.compiled(key)) for r in roles if not r.spans_only] for key in ("zh", "en")}
        self._names = {key: [(set(r.rules_out), r.compiled(key)[0]) for r in roles if r.spans_only] for key in ("zh", "en")}
        self.ruled_out = {r.role: set(r.rules_out) for r in roles}
        self.ruled_out["quotation"] = set(CATEGORIES)

    def clauses(self, norm: str, language: str, quoted: Sequence[tuple[int, int]] = ()) -> list[ClauseRole]:
        key = "en" if language == "en" else "zh"
        out = []
        for start, end in clause_bounds(norm, language):
            if any(s <= start and end <= e for s, e in quoted):
                out.append(ClauseRole(start=start, end=end, role="quotation"))
                continue
            text = _CONNECTIVE[key].sub("", norm[start:end].strip())
            role = next((role for role, patterns, unless in self._table[key]
                         if any(p.search(text) for p in patterns) and not any(u.search(text) for u in unless)), None)
            if role is None:
                role = "product_name" if any(p.search(text) for _, patterns in self._names[key] for p in patterns) else "statement"
            out.append(ClauseRole(start=start, end=end, role=role))
        return out

    def names_out(self, norm: str, language: str, category: str, start: int, end: int) -> bool:
        """True when the finding's words are a product or feature name whose role rules its category out."""
        key = "en" if language == "en" else "zh"
        words = norm[start:end].strip()
        return any(category in out and any(p.fullmatch(words) or ((m := p.search(norm, max(0, start - 12), end + 12))
                                           and m.start() <= start and end <= m.end()) for p in patterns)
                   for out, patterns in self._names[key])

    def rules_out(self, clauses: list[ClauseRole], category: str, start: int, end: int) -> bool:
        """True when the finding starts in a clause whose role rules its category out: a pattern that runs on
        into the next clause ("我没法打包票，一有消息就马上...") is still read where its trigger sits."""
        here = next((c for c in clauses if c.start <= start < c.end), None)
        return here is not None and category in self.ruled_out.get(here.role, set())


def clause_bounds(text: str, language: str) -> list[tuple[int, int]]:
    """(start, end) of each clause: sentences cut at commas and semicolons (in English at ", but" and the like)."""
    key = "en" if language == "en" else "zh"
    bounds = []
    for s_start, s_end in sentence_bounds(text):
        cursor = s_start
        for m in _BREAK[key].finditer(text, s_start, s_end):
            if m.start() > cursor:
                bounds.append((cursor, m.start()))
            cursor = m.end()
        if cursor < s_end:
            bounds.append((cursor, s_end))
    return [(s, e) for s, e in bounds if text[s:e].strip()]


def load_roles(path: Path) -> RoleReader:
    """The role file, validated with the file and line of any problem named."""
    text, data = _read(path)
    items = data.get("roles")
    if not isinstance(items, list) or not items:
        raise RuleFileError(f"{path}:1: expected a list under 'roles:'")
    lines = _item_lines(path, text, "roles")
    roles = []
    for i, item in enumerate(items):
        line = lines[i] if i < len(lines) else 0
        if not isinstance(item, dict):
            raise RuleFileError(f"{path}:{line}: entry #{i + 1} of 'roles' must be a mapping")
        try:
            parsed = RolePatterns(**item, line=line)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors())
            raise RuleFileError(f"{path}:{line}: role '{item.get('role', i + 1)}': {problems}") from exc
        _check_patterns(path, line, str(parsed.role), parsed.patterns)
        _check_patterns(path, line, str(parsed.role), parsed.guards)
        roles.append(parsed)
    return RoleReader(roles)
