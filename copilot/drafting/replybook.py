"""The composer's content (`knowledge/drafting/`): sentences per move, what each kind of problem needs,
the details a reply may ask for and how to tell they were already given."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from copilot.text.script import convert_script, to_simplified

LANGS = ("zh-Hant", "zh-Hans", "en")
_FORMATTER = string.Formatter()


def slots_of(sentence: str) -> set[str]:
    return {name for _, name, _, _ in _FORMATTER.parse(sentence) if name}


def _localise(value: dict, lang: str) -> str:
    """A {zh, en, zh-Hant?} value in `lang` (Traditional converted from Simplified unless given)."""
    if lang == "en":
        return str(value.get("en", ""))
    if lang == "zh-Hant" and "zh-Hant" in value:
        return str(value["zh-Hant"])
    return convert_script(str(value.get("zh", "")), lang) if lang == "zh-Hant" else str(value.get("zh", ""))


def _localise_list(value: dict, lang: str) -> list[str]:
    if lang == "en":
        return [str(v) for v in value.get("en", [])]
    if lang == "zh-Hant" and "zh-Hant" in value:
        return [str(v) for v in value["zh-Hant"]]
    items = [str(v) for v in value.get("zh", [])]
    return [convert_script(v, lang) for v in items] if lang == "zh-Hant" else items


@dataclass(frozen=True)
class ProblemSpec:
    details: tuple[str, ...]
    check: dict[str, str]
    team: dict[str, str]
    topic: dict[str, str] | None = None  # a policy category: the situation named, when the complaint's words cannot be


@dataclass(frozen=True)
class Context:
    """Where it happened (a hotel stay, a meal, an online order...): what to ask, what will be checked, and
    how to name the experience; for these problem types (all when empty)."""

    id: str
    when: tuple[re.Pattern[str], ...]
    details: tuple[str, ...]
    check: dict[str, str] | None = None
    experience: dict[str, str] | None = None
    team: dict[str, str] | None = None
    types: frozenset[str] = frozenset()

    def matches(self, text: str, problem_type: str | None) -> bool:
        return (not self.types or (problem_type or "other") in self.types) and any(p.search(text) for p in self.when)


@dataclass(frozen=True)
class DetailSpec:
    name: dict[str, str]
    given: re.Pattern[str] | None
    not_on: frozenset[str] = frozenset()  # channels where it cannot be asked for (a screenshot on a call)


@dataclass
class ReplyBook:
    moves: dict[str, dict[str, list[str]]]  # lang -> move -> sentences
    problems: dict[str, ProblemSpec]
    details: dict[str, DetailSpec]
    contexts: list[Context] = field(default_factory=list)
    feelings: dict[str, dict[str, str]] = field(default_factory=dict)  # aspect id (or "default") -> lang -> line
    categories: dict[str, ProblemSpec] = field(default_factory=dict)  # policy category key -> what to do
    context_not_for: frozenset[str] = frozenset()  # problem types whose own details no context replaces

    def sentences(self, lang: str, move: str, channel: str | None = None) -> list[str]:
        """The sentences of `move` for `channel` (its channel variant first, else the plain move)."""
        by_move = self.moves.get(lang, {})
        if channel and f"{move}.{channel}" in by_move:
            return by_move[f"{move}.{channel}"]
        return by_move.get(move, [])

    def problem(self, problem_type: str | None, category: str | None = None) -> ProblemSpec:
        """What to check and ask: the policy category's when one applies, else the problem type's."""
        if category and category in self.categories:
            return self.categories[category]
        return self.problems.get(problem_type or "other") or self.problems["other"]

    def feeling(self, aspects: list[str], lang: str) -> str:
        """The feeling line for the first aspect that has one, else the default."""
        for aspect in aspects:
            if aspect in self.feelings:
                return self.feelings[aspect][lang]
        return self.feelings.get("default", {}).get(lang, "")

    def detail_name(self, detail: str, lang: str) -> str:
        return self.details[detail].name[lang]

    def already_given(self, detail: str, complaint: str) -> bool:
        spec = self.details.get(detail)
        return bool(spec and spec.given and spec.given.search(to_simplified(complaint)))

    def context_of(self, complaint: str, problem_type: str | None) -> Context | None:
        if problem_type in self.context_not_for:
            return None
        text = to_simplified(complaint)
        return next((c for c in self.contexts if c.matches(text, problem_type)), None)

    def details_to_ask(self, problem_type: str | None, complaint: str, category: str | None = None, most: int = 2,
                       channel: str | None = None) -> list[str]:
        """At most `most` details to ask for, skipping any the customer already gave and any the channel
        cannot carry: the policy category's when one applies, else the context's, else the problem type's."""
        if category and category in self.categories:
            wanted = self.categories[category].details
        elif (context := self.context_of(complaint, problem_type)) is not None:
            wanted = context.details
        else:
            wanted = self.problem(problem_type).details
        usable = [d for d in wanted if channel not in self.details[d].not_on]
        return [d for d in usable if not self.already_given(d, complaint)][:most]


def load_replybook(folder: Path) -> ReplyBook:
    folder = Path(folder)
    replies = yaml.safe_load((folder / "replies.yaml").read_text(encoding="utf-8"))["moves"]
    moves = {lang: {move: _localise_list(value, lang) for move, value in replies.items()} for lang in LANGS}
    problems_data = yaml.safe_load((folder / "problems.yaml").read_text(encoding="utf-8"))
    details_data = yaml.safe_load((folder / "details.yaml").read_text(encoding="utf-8"))["details"]
    details = {
        key: DetailSpec(name={lang: _localise(v["name"], lang) for lang in LANGS},
                        given=re.compile(v["given"], re.IGNORECASE) if v.get("given") else None,
                        not_on=frozenset(v.get("not_on", [])))
        for key, v in details_data.items()
    }
    def spec(key: str, v: dict) -> ProblemSpec:
        unknown = [d for d in v.get("details", []) if d not in details]
        if unknown:
            raise ValueError(f"{folder / 'problems.yaml'}: {key} asks for unknown details {unknown}")
        team = v.get("feedback_team", {"zh": "相关团队", "en": "the team responsible"})
        return ProblemSpec(details=tuple(v.get("details", [])), check={lang: _localise(v["check"], lang) for lang in LANGS},
                           team={lang: _localise(team, lang) for lang in LANGS},
                           topic={lang: _localise(v["topic"], lang) for lang in LANGS} if v.get("topic") else None)

    problems = {key: spec(key, v) for key, v in problems_data["problems"].items()}
    categories = {key: spec(key, v) for key, v in (problems_data.get("categories") or {}).items()}
    def localised(value: dict | None) -> dict[str, str] | None:
        return {lang: _localise(value, lang) for lang in LANGS} if value else None

    contexts = [
        Context(id=c["id"], when=tuple(re.compile(p, re.IGNORECASE) for p in c["when"].values()), details=tuple(c["details"]),
                check=localised(c.get("check")), experience=localised(c.get("experience")), team=localised(c.get("team")),
                types=frozenset(c.get("types", [])))
        for c in problems_data.get("context", [])
    ]
    feelings = {key: {lang: _localise(v, lang) for lang in LANGS} for key, v in (problems_data.get("feelings") or {}).items()}
    return ReplyBook(moves=moves, problems=problems, details=details, contexts=contexts, feelings=feelings, categories=categories,
                     context_not_for=frozenset(problems_data.get("context_not_for", [])))
