"""The Suggest tab: a complaint, its reading as chips, and three drafts, each shown once with its findings
marked in place, editable (and re-checked), copyable, with feedback."""

from __future__ import annotations

import gradio as gr

from copilot.audit import Feedback
from copilot.audit.store import FeedbackReason
from copilot.checking import CheckContext
from copilot.drafting import DRAFT_KINDS, SuggestContext
from copilot.errors import CopilotError
from copilot.knowledge.policies import LEVEL_NAMES
from copilot.ui.kit import CHANNELS, FIRST, LEVELS, Panel, findings, highlight, labels_for, made_by
from copilot.ui.views import md_text

REASONS: list[FeedbackReason] = ["blame_removed", "wrong_policy", "tone_too_cold", "too_long", "other"]


class DraftCard:
    """One draft: the text with findings marked (or a box while the agent edits), edit and copy, the findings,
    and the agent's feedback on it."""

    def __init__(self, panel: Panel, kind: str, level: gr.Dropdown, suggestion_id: gr.State) -> None:
        self.panel, self.kind = panel, kind
        # each draft is shown once: the text with findings marked in place, or, while the agent edits, a text box;
        # its findings are listed under it either way
        self.view = gr.HighlightedText(elem_id=f"draft-{kind}", show_label=False, combine_adjacent=False,
                                       show_legend=False, container=False)
        self.box = gr.Textbox(elem_id=f"edit-{kind}", lines=6, show_label=False, visible=False)
        self.editing = gr.State(False)
        with gr.Row(equal_height=True):
            self.edit = panel.labelled(gr.Button(FIRST["edit"], size="sm", elem_id=f"edit-button-{kind}", min_width=60), "edit", "value")
            copy = panel.labelled(gr.Button(FIRST["copy"], size="sm", elem_id=f"copy-{kind}", min_width=60), "copy", "value")
            self.engine = gr.Markdown(elem_id=f"engine-{kind}")
        self.found = gr.Markdown(elem_id=f"findings-{kind}")
        with gr.Row(equal_height=True):
            useful = panel.labelled(gr.Radio(["yes", "no"], label=FIRST["useful"], elem_id=f"useful-{kind}", min_width=90), "useful")
            reason = panel.labelled(gr.Dropdown(["", *REASONS], value="", label=FIRST["reason"], elem_id=f"reason-{kind}",
                                                min_width=90), "reason")
        send = panel.labelled(gr.Button(FIRST["send_feedback"], size="sm", elem_id=f"send-{kind}"), "send_feedback", "value")
        status = gr.Markdown(elem_id=f"status-{kind}")
        self.box.change(self.recheck_findings, [self.box, level], [self.found], show_progress="hidden")
        self.edit.click(self.toggle_edit, [self.editing, self.box, level, panel.ui_language],
                        {self.editing, self.view, self.box, self.edit, self.found})
        copy.click(None, [self.box], None, js="(text) => { navigator.clipboard && navigator.clipboard.writeText(text); }")
        send.click(self.send_feedback, [suggestion_id, useful, reason, self.box], [status])

    def recheck(self, text: str, level: str):
        if not text or not text.strip():
            return [], ""
        try:
            result = self.panel.copilot.check(text, context=CheckContext(level=LEVEL_NAMES.get(level, "agent")))
        except CopilotError as exc:
            return [], str(exc)
        return highlight(text, result), findings(result)

    def recheck_findings(self, text: str, level: str) -> str:
        marks, report = self.recheck(text, level)
        return "" if all(label is None for _, label in marks) else report

    def toggle_edit(self, is_editing: bool, text: str, level: str, ui: str) -> dict:
        """Edit: the draft becomes a text box. Done: it is shown again, checked, with findings marked in place."""
        labels = labels_for(ui)
        if not is_editing:
            return {self.editing: True, self.view: gr.update(visible=False), self.box: gr.update(visible=True),
                    self.edit: gr.update(value=labels["done"])}
        marks, report = self.recheck(text, level)
        clean = all(label is None for _, label in marks)
        return {self.editing: False, self.view: gr.update(value=marks, visible=True), self.box: gr.update(visible=False),
                self.edit: gr.update(value=labels["edit"]), self.found: "" if clean else report}

    def send_feedback(self, suggestion_id: str, useful: str, reason: str, text: str) -> str:
        if not suggestion_id:
            return "Draft first, then send feedback."
        try:
            self.panel.copilot.feedback(Feedback.model_validate({
                "suggestion_id": suggestion_id, "draft_kind": self.kind, "useful": useful == "yes",
                "reason": reason or None, "final_text": text or None}))
        except (CopilotError, ValueError) as exc:
            return f"Not saved: {exc}"
        return "✓ saved"

    def cleared(self) -> dict:
        return {self.view: gr.update(value=[]), self.box: "", self.engine: "", self.found: ""}

    def shown(self, draft, labels: dict[str, str]) -> dict:
        engine = f"*{made_by(draft.engine, draft.fixed_by)}*"
        return {self.view: gr.update(value=highlight(draft.text, draft.check), visible=True),
                self.box: gr.update(value=draft.text, visible=False), self.engine: engine,
                self.found: findings(draft.check) if draft.check.violations else "",
                self.edit: gr.update(value=labels["edit"]), self.editing: False}


class SuggestTab:
    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        self.complaint = panel.labelled(gr.Textbox(label=FIRST["complaint"], lines=4, elem_id="complaint"), "complaint")
        with gr.Row(equal_height=True):
            self.level = panel.labelled(gr.Dropdown(LEVELS, value="agent", label=FIRST["level"], min_width=100), "level")
            self.channel = panel.labelled(gr.Dropdown(CHANNELS, value="chat", label=FIRST["channel"], elem_id="channel",
                                                      min_width=100), "channel")
        draft = panel.labelled(gr.Button(FIRST["draft"], variant="primary", elem_id="draft"), "draft", "value")
        self.analysis = gr.Markdown(elem_id="analysis")
        self.suggestion_id = gr.State("")
        self.cards: dict[str, DraftCard] = {}
        with gr.Tabs(elem_id="draft-tabs"):
            for kind in DRAFT_KINDS:
                with panel.labelled(gr.Tab(FIRST[f"short_{kind}"], id=f"tab-{kind}", elem_id=f"tab-{kind}"), f"short_{kind}"):
                    self.cards[kind] = DraftCard(panel, kind, self.level, self.suggestion_id)
        with panel.labelled(gr.Accordion(FIRST["guidance"], open=False), "guidance"):
            self.guidance = gr.Markdown(elem_id="guidance")
        outputs = {self.analysis, self.suggestion_id, self.guidance}
        for card in self.cards.values():
            outputs |= {card.view, card.box, card.engine, card.found, card.edit, card.editing}
        draft.click(self.suggest, [self.complaint, self.level, self.channel, panel.ui_language], outputs)

    def suggest(self, complaint: str, level: str, channel: str, ui: str) -> dict:
        """The analysis as chips, and each draft once: its text with any finding marked in place."""
        labels = labels_for(ui)
        cleared: dict = {self.suggestion_id: "", self.guidance: ""}
        for card in self.cards.values():
            cleared |= card.cleared()
        if not complaint or not complaint.strip():
            return cleared | {self.analysis: labels["complaint_needed"]}
        try:
            s = self.panel.copilot.suggest(complaint, SuggestContext.model_validate({"level": level, "channel": channel}))
        except CopilotError as exc:
            return cleared | {self.analysis: f"**{labels['cannot_draft']}:** {md_text(str(exc))}"}
        out: dict = {self.analysis: _reading(s, labels), self.suggestion_id: s.id}
        for d in s.drafts:
            out |= self.cards[d.kind].shown(d, labels)
        out[self.guidance] = "\n\n".join(
            f"**{labels[d.kind]}**\n" + "\n".join(f"- {c.title} / {c.section} `[{c.doc_id}]`" for c in d.citations) for d in s.drafts
        )
        return out


def _reading(s, labels: dict[str, str]) -> str:
    """The analysis as chips: language, anger, customer type, needs, signals; the problem and the policy."""
    a = s.analysis
    chips = [f"`{a.language}`", f"{labels['anger']} {a.anger}/3", f"`{a.customer_type}`"]
    chips += [f"`{n}`" for n in a.need_names] + [f"⚠ `{sig}`" for sig in a.signal_names]
    if a.hard_type:
        chips.append(f"`{a.hard_type}`")
    if a.injection:
        chips.append("⚠ `instructions in the complaint`")
    problem = f"{labels['problem']}{labels['colon']}{md_text(a.topic.phrase) if a.topic else '—'}" + (
        f" (`{a.problem_type}`)" if a.problem_type else "")
    policy = f"{labels['policy']}{labels['colon']}" + (f"`{s.policy}`" if s.policy else labels["no_policy"])
    return " · ".join(chips) + f"  \n{problem}  \n{policy}" + "".join(f"\n\n*{md_text(n)}*" for n in s.notices + a.notices)
