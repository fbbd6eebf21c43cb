"""Rewrite controls on a draft or the agent's own text: shorter, warmer, more formal, simpler words,
the other Chinese script, another language.

Deterministic where it can be (the composer's side): length by dropping the sentences that carry the
least (keeping the concrete next step, the time and the amount), warmth and register from the phrase
lists in `knowledge/rewrite/controls.yaml`, script by OpenCC. Translation needs the LLM.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, Field

from copilot.checking.models import CheckResult
from copilot.errors import InvalidInput
from copilot.text.numbers import find_amounts, find_durations
from copilot.text.script import convert_script
from copilot.text.sentences import split_sentences

Control = Literal["shorter", "warmer", "formal", "simpler", "script", "language"]
Language = Literal["zh-Hant", "zh-Hans", "en"]
CONTROLS: tuple[str, ...] = get_args(Control)
_APOLOGY = re.compile(r"sorry|apolog|抱歉|對不起|对不起|道歉|不好意思|歉意", re.IGNORECASE)


def script_target(lang: str, target: str | None) -> str:
    """The script a switch goes to: `target` if it is the other Chinese script, else the other one."""
    if target in ("zh-Hant", "zh-Hans") and target != lang:
        return target
    return "zh-Hans" if lang == "zh-Hant" else "zh-Hant"


class RewriteRequest(BaseModel):
    text: str = Field(max_length=20_000, description="The draft or the agent's own text.")
    control: Control
    language: Language | None = Field(None, description="The text's language; detected when omitted.")
    target: Language | None = Field(None, description="For script/language: the language or script wanted.")
    conversation_id: str | None = Field(None, description="Re-check against this conversation's ledger.")
    policy: str | None = None
    level: Literal["agent", "supervisor", "manager"] = "agent"


class RewriteResult(BaseModel):
    text: str
    original: str
    control: Control
    language: Language
    engine: Literal["composer", "llm"]
    check: CheckResult
    fixed_by: Literal["none", "llm", "rules"] = "none"
    notices: list[str] = Field(default_factory=list)


class RewriteUnavailable(InvalidInput):
    """The control cannot be applied to this text without the LLM (or at all)."""

    code = "rewrite_unavailable"


class ControlLists(BaseModel):
    formal: list[tuple[str, str]] = Field(default_factory=list)
    plain: list[tuple[str, str]] = Field(default_factory=list)
    filler: list[str] = Field(default_factory=list)
    warm_open: list[str] = Field(default_factory=list)
    warm_close: list[str] = Field(default_factory=list)


def load_controls(path: Path) -> dict[str, ControlLists]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    lists = {lang: ControlLists.model_validate(values or {}) for lang, values in data.items()}
    for lang, cl in lists.items():
        for pattern in [p for p, _ in cl.formal + cl.plain] + cl.filler:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{path}: {lang}: pattern {pattern!r} does not compile: {exc}") from exc
    return lists


class Rewriter:
    """The deterministic controls. `moves_of(sentence, lang)` names the moves a sentence makes (the checker)."""

    def __init__(self, lists: dict[str, ControlLists], moves_of) -> None:
        self.lists = lists
        self.moves_of = moves_of

    def apply(self, text: str, control: Control, lang: str, target: str | None = None) -> tuple[str, list[str]]:
        """(rewritten text, notices)."""
        if control == "script":
            return self.switch_script(text, lang, target)
        if control == "language":
            if target in ("zh-Hant", "zh-Hans") and lang in ("zh-Hant", "zh-Hans"):
                return self.switch_script(text, lang, target)
            raise RewriteUnavailable(
                f"translating into {target or 'another language'} needs the LLM: set COPILOT_LLM_BASE_URL, "
                "or draft again with the conversation's language set to the one you want"
            )
        rewritten = {"shorter": self.shorter, "warmer": self.warmer, "formal": self.formal, "simpler": self.simpler}[control](text, lang)
        notices = [] if rewritten != text else [f"nothing to change for '{control}': the text is returned as it was"]
        return rewritten, notices

    # ------------------------------------------------------------------ controls

    @staticmethod
    def switch_script(text: str, lang: str, target: str | None) -> tuple[str, list[str]]:
        if lang == "en":
            raise RewriteUnavailable("switching script applies to Chinese text; this text is in English")
        return convert_script(text, script_target(lang, target)), []

    def shorter(self, text: str, lang: str) -> str:
        """Keep the sentences that carry the most (time, amount, next step, first apology and acknowledgement)."""
        text = self._delete_fillers(text, lang)
        sentences = split_sentences(text)
        if len(sentences) <= 2:
            return text
        seen: set[str] = set()
        said: set[str] = set()  # times and amounts already kept: a second mention adds nothing
        scored = []
        for i, sentence in enumerate(sentences):
            moves = set(self.moves_of(sentence, lang))
            facts = {d.text for d in find_durations(sentence, lang)} | {str(a.value) for a in find_amounts(sentence)}
            score = 0.0
            if facts - said:
                score += 5
            said |= facts
            score += 4 if moves & {"next_step", "follow_up"} and not seen & {"next_step", "follow_up"} else 0
            score += 6 if "acknowledge" in moves and "acknowledge" not in seen else 0
            score += 3 if "apologise" in moves and "apologise" not in seen else 0
            score += sum(1 for m in ("own", "thank") if m in moves and m not in seen)
            seen |= moves
            scored.append((score - i * 0.01, i))
        keep = max(2, min(3, (len(sentences) + 1) // 2))
        chosen = sorted(i for _, i in sorted(scored, reverse=True)[:keep])
        return _join([sentences[i] for i in chosen], lang)

    def warmer(self, text: str, lang: str) -> str:
        lists = self.lists.get(lang, ControlLists())
        moves = set(self.moves_of(text, lang))
        seed = int(hashlib.sha1(text.encode()).hexdigest(), 16)
        parts = split_sentences(text)
        added = False
        if "acknowledge" not in moves and lists.warm_open:
            # after an apology, the opener must not be another one
            openers = [p for p in lists.warm_open if not _APOLOGY.search(p)] if _APOLOGY.search(text) else lists.warm_open
            parts.insert(0, openers[seed % len(openers)])
            added = True
        closers = [c for c in lists.warm_close if c not in text]
        if closers and ("thank" not in moves or not added):
            parts.append(closers[seed % len(closers)])
        return _join(parts, lang)

    def formal(self, text: str, lang: str) -> str:
        return _substitute(text, self.lists.get(lang, ControlLists()).formal)

    def simpler(self, text: str, lang: str) -> str:
        return _substitute(text, self.lists.get(lang, ControlLists()).plain)

    def _delete_fillers(self, text: str, lang: str) -> str:
        for pattern in self.lists.get(lang, ControlLists()).filler:
            text = re.sub(pattern, "", text)
        if lang == "en":  # a filler that opened a sentence leaves a lower-case start
            text = re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
        return text


def _substitute(text: str, pairs: list[tuple[str, str]]) -> str:
    for pattern, replacement in pairs:
        text = re.sub(pattern, replacement, text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _join(sentences: list[str], lang: str) -> str:
    return (" " if lang == "en" else "").join(s.strip() for s in sentences if s.strip())
