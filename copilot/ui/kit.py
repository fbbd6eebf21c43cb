"""What every tab of the panel shares: the service, the interface language and the components that follow it,
and the small pieces several tabs show (a text with its findings marked, the findings listed)."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field

import gradio as gr

from copilot.knowledge.policies import LEVELS as POLICY_LEVELS
from copilot.service import Copilot
from copilot.ui.views import LABELS

UI_LANGUAGES = {"繁體中文": "zh-Hant", "简体中文": "zh-Hans", "English": "en"}
LANGUAGE_NAMES = {"zh-Hant": "繁體中文", "zh-Hans": "简体中文", "en": "English"}
LEVELS = list(POLICY_LEVELS)
CHANNELS = ["chat", "social", "email", "phone"]
FIRST = LABELS["zh-Hant"]  # the panel opens in Traditional Chinese

Relabel = Callable[[dict[str, str]], object]


def labels_for(choice: str) -> dict[str, str]:
    return LABELS[UI_LANGUAGES.get(choice, "zh-Hant")]


def made_by(engine: str, fixed_by: str) -> str:
    """Which engine wrote a text, and what repaired it if anything did: "llm, fixed by rules"."""
    return engine + (f", fixed by {fixed_by}" if fixed_by != "none" else "")


def highlight(text: str, result) -> list[tuple[str, str | None]]:
    """The text in pieces, each finding's span labelled with its category (for a HighlightedText)."""
    parts: list[tuple[str, str | None]] = []
    cursor = 0
    for v in sorted(result.violations, key=lambda v: v.start):
        if v.start < cursor:
            continue
        if v.start > cursor:
            parts.append((text[cursor : v.start], None))
        parts.append((text[v.start : v.end], v.category))
        cursor = v.end
    if cursor < len(text):
        parts.append((text[cursor:], None))
    return parts


def findings(result) -> str:
    """The verdict and the findings shown; those the checker is less sure of folded away below them."""
    lines = [f"**{result.verdict}**"]
    lines += [f"- **{v.name}** “{v.text}”: {v.suggestion} ({v.confidence:.2f})" for v in result.violations]
    folded = getattr(result, "second_look", [])
    if folded:
        label = LABELS.get(result.language, LABELS["en"])["second_look"]
        items = "".join(f"<li>{html.escape(v.name)} “{html.escape(v.text)}” ({v.confidence:.2f})</li>" for v in folded)
        lines.append(f"\n<details class='second-look'><summary>{html.escape(label)}: {len(folded)}</summary><ul>{items}</ul></details>")
    return "\n".join(lines)


@dataclass
class Panel:
    """The service and the parts of the page every tab may use; tabs register what follows the language."""

    copilot: Copilot
    ui_language: gr.Radio
    relabels: list[tuple[gr.blocks.Block, Relabel]] = field(default_factory=list)

    def labelled(self, component, key: str, attr: str = "label"):
        """Register a component whose `attr` is the label `key`, so it follows the interface language."""
        self.relabels.append((component, lambda labels: gr.update(**{attr: labels[key]})))
        return component

    def follows(self, component, make: Relabel):
        self.relabels.append((component, make))
        return component
