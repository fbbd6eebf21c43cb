"""The Check tab: the agent's own text against the rules and a policy, with a rewrite that passes."""

from __future__ import annotations

import gradio as gr

from copilot.checking import CheckContext
from copilot.errors import CopilotError
from copilot.knowledge.policies import LEVEL_NAMES
from copilot.ui.kit import FIRST, LEVELS, Panel, findings, highlight


class CheckTab:
    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        text = panel.labelled(gr.Textbox(label=FIRST["reply"], lines=5, elem_id="reply"), "reply")
        with gr.Row():
            level = panel.labelled(gr.Dropdown(LEVELS, value="agent", label=FIRST["level"]), "level")
            policies = [""] + [c.key for c in panel.copilot.policies.categories()]
            policy = panel.labelled(gr.Dropdown(policies, value="", label=FIRST["policy"]), "policy")
        go = panel.labelled(gr.Button(FIRST["check"], variant="primary", elem_id="check"), "check", "value")
        self.marks = panel.labelled(gr.HighlightedText(label=FIRST["violations"], elem_id="highlighted", combine_adjacent=False),
                                    "violations")
        self.report = gr.Markdown(elem_id="report")
        self.fixed = panel.labelled(gr.Textbox(label=FIRST["rewrite"], lines=4, elem_id="fixed", buttons=["copy"]), "rewrite")
        go.click(self.check, [text, level, policy], {self.marks, self.report, self.fixed})

    def check(self, text: str, level: str, policy: str) -> dict:
        if not text or not text.strip():
            return {self.marks: [], self.report: "Paste the reply you want to check.", self.fixed: ""}
        copilot = self.panel.copilot
        try:
            context = CheckContext(level=LEVEL_NAMES.get(level, "agent"), policy=policy or None)
            result = copilot.check(text, context=context)
            fixed = copilot.fix(text, context=context) if result.violations else None
        except CopilotError as exc:
            return {self.marks: [], self.report: f"**Cannot check:** {exc}", self.fixed: ""}
        report = findings(result) + f"\n\nMoves missing: {', '.join(result.moves_missing) or 'none'}"
        return {self.marks: highlight(text, result), self.report: report, self.fixed: fixed.text if fixed else text}
