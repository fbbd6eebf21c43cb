"""The demo company's policies as data: remedies, compensation limits per authority level, time frames."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from copilot.knowledge.documents import parse_front_matter

Level = Literal["agent", "supervisor", "manager"]
LEVELS: tuple[Level, ...] = ("agent", "supervisor", "manager")
LEVEL_NAMES: dict[str, Level] = {level: level for level in LEVELS}
Localized = dict[str, str]


class PolicyError(ValueError):
    """A policy file is malformed."""


class TimeFrame(BaseModel):
    """The earliest the company can reliably commit to: an agent may promise this or later, never sooner."""

    hours: float | None = None
    days: float | None = None
    business: bool = False

    @model_validator(mode="after")
    def _one_unit(self) -> TimeFrame:
        if (self.hours is None) == (self.days is None):
            raise ValueError("a time frame has exactly one of hours or days")
        return self

    @property
    def in_hours(self) -> float:
        """Calendar hours; business days count as 24 h each so a promise is compared like for like."""
        return self.hours if self.hours is not None else float(self.days or 0) * 24

    def describe(self, language: str) -> str:
        n = self.hours if self.hours is not None else self.days
        n_text = f"{n:g}"
        if language == "en":
            if self.hours is not None:
                return f"within {n_text} hours"
            return f"within {n_text} {'working days' if self.business else 'days'}"
        if language == "zh-Hans":
            unit = "小时" if self.hours is not None else ("个工作日" if self.business else "天")
            return f"{n_text}{unit}内"
        unit = "小時" if self.hours is not None else ("個工作天" if self.business else "天")
        return f"{n_text}{unit}內"


class Compensation(BaseModel):
    type: str
    limits: dict[Level, float]

    @model_validator(mode="after")
    def _ordered(self) -> Compensation:
        missing = [lvl for lvl in LEVELS if lvl not in self.limits]
        if missing:
            raise ValueError(f"compensation limits missing for {', '.join(missing)}")
        if not self.limits["agent"] <= self.limits["supervisor"] <= self.limits["manager"]:
            raise ValueError("limits must not decrease from agent to supervisor to manager")
        return self


class CannotGrant(BaseModel):
    request: Localized
    reason: Localized
    alternative: Localized


class LegalBasis(BaseModel):
    law: str
    article: str
    summary: Localized


class PolicyCategory(BaseModel):
    id: str
    names: Localized
    keywords: dict[str, list[str]] = Field(default_factory=dict)
    evidence: list[str] = Field(
        default_factory=list,
        description="Regular expressions (Simplified Chinese or English): a complaint about this situation matches every one.",
    )
    not_about: str | None = Field(None, description="A complaint matching this is about something else (a power cut is not a broadband outage).")
    remedy: Localized
    compensation: Compensation
    time_frames: dict[str, TimeFrame] = Field(default_factory=dict)
    cannot_grant: list[CannotGrant] = Field(default_factory=list)
    legal_basis: list[LegalBasis] = Field(default_factory=list)
    domain: str = ""
    currency: str = "CNY"
    policy_id: str = ""

    @model_validator(mode="after")
    def _patterns_compile(self) -> PolicyCategory:
        for pattern in [*self.evidence, *([self.not_about] if self.not_about else [])]:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{self.id}: evidence pattern {pattern!r} is not a regular expression ({exc})") from exc
        return self

    @cached_property
    def _evidence(self) -> tuple[list[re.Pattern[str]], re.Pattern[str] | None]:
        groups = [re.compile(p, re.IGNORECASE) for p in self.evidence]
        return groups, re.compile(self.not_about, re.IGNORECASE) if self.not_about else None

    def is_evident_in(self, normalised: str) -> bool:
        """Whether a complaint (in Simplified script) says what a complaint about this situation always says."""
        groups, not_about = self._evidence
        return all(g.search(normalised) for g in groups) and not (not_about is not None and not_about.search(normalised))

    def limit(self, level: Level) -> float:
        return self.compensation.limits[level]

    def wording(self) -> str:
        """All the policy's own sentences for this category (every language): its remedy and what cannot be
        granted, why, and the alternative."""
        parts = list(self.remedy.values())
        for c in self.cannot_grant:
            parts += [*c.request.values(), *c.reason.values(), *c.alternative.values()]
        return "\n".join(parts)

    def approver_for(self, amount: float) -> Level | None:
        """The lowest level allowed to grant `amount`, or None if even a manager cannot."""
        return next((lvl for lvl in LEVELS if amount <= self.compensation.limits[lvl]), None)

    @property
    def key(self) -> str:
        return f"{self.domain}/{self.id}"


class Policy(BaseModel):
    id: str
    title: str
    domain: str
    currency: str = "CNY"
    categories: list[PolicyCategory]


class PolicyBook(BaseModel):
    """Every policy, indexed by domain and by `domain/category`."""

    policies: list[Policy] = Field(default_factory=list)

    @cached_property
    def _by_key(self) -> dict[str, PolicyCategory]:
        return {c.key: c for p in self.policies for c in p.categories}

    def category(self, key: str) -> PolicyCategory | None:
        """Look up `domain/category` (or a bare category id when it is unique)."""
        if key in self._by_key:
            return self._by_key[key]
        matches = [c for c in self._by_key.values() if c.id == key]
        return matches[0] if len(matches) == 1 else None

    def categories(self, domain: str | None = None) -> list[PolicyCategory]:
        return [c for c in self._by_key.values() if domain is None or c.domain == domain]

    @property
    def domains(self) -> list[str]:
        return [p.domain for p in self.policies]


def load_policies(folder: Path) -> PolicyBook:
    """Read every policy file that carries `categories:` (translations carry prose only)."""
    policies = []
    for path in sorted(Path(folder).glob("*.md")):
        meta, _ = parse_front_matter(path.read_text(encoding="utf-8"), origin=str(path))
        if meta.get("kind") != "policy" or "categories" not in meta:
            continue
        domain = str(meta.get("domain", ""))
        currency = str(meta.get("currency", "CNY"))
        try:
            categories = [
                PolicyCategory(**c, domain=domain, currency=currency, policy_id=str(meta["id"]))
                for c in meta["categories"]
            ]
            policies.append(
                Policy(id=str(meta["id"]), title=str(meta.get("title", "")), domain=domain, currency=currency, categories=categories)
            )
        except (ValidationError, TypeError, KeyError) as exc:
            raise PolicyError(f"{path}: {exc}") from exc
    return PolicyBook(policies=policies)
