"""The Conversation tab: a live conversation followed turn by turn (transcript, mood trend, alerts, the
promises ledger), drafts for the newest customer turn streamed as they are written, the agent's reply checked
against the ledger, rewrite controls and the escalation brief."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr
from pydantic import ValidationError

from copilot.drafting import DRAFT_KINDS
from copilot.drafting.rewrite import CONTROLS, RewriteRequest, RewriteUnavailable
from copilot.errors import CopilotError
from copilot.service import UnknownConversation
from copilot.ui.kit import FIRST, LANGUAGE_NAMES, Panel, findings, highlight, labels_for, made_by
from copilot.ui.views import (
    md_text,
    render_alerts,
    render_brief,
    render_ledger,
    render_transcript,
    render_trend,
)

POLL_SECONDS = 1.5  # how often a followed conversation is re-read


def source_choices(labels):
    return [(labels["source_agent"], "agent")] + [(labels[k], k) for k in DRAFT_KINDS]


def control_choices(labels):
    return [(labels[f"ctl_{c}"], c) for c in CONTROLS]


def target_choices(labels):
    return [(labels["target_auto"], "")] + [(name, code) for code, name in LANGUAGE_NAMES.items()]


class ConversationTab:
    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        self.following = gr.State("")  # the conversation followed
        self.seen = gr.State(-1)  # its turn count when last shown
        self.drafted = gr.State("")  # "<id>:<turn index>" of the customer turn the drafts are for
        self.timer = gr.Timer(POLL_SECONDS, active=False)

    def build(self) -> None:
        """The tab's layout and events (inside its gr.Tab)."""
        self._views()
        self._drafts()
        self._agent_text()
        self._rewrite()
        self._brief()
        inputs = [self.conv_id, self.following, self.drafted, self.panel.ui_language]
        self.follow_button.click(self.follow, inputs, self.follow_outputs)
        self.conv_id.submit(self.follow, inputs, self.follow_outputs)
        # a tick is a cheap read (the service caches by turn count): no need to queue them behind each other
        self.timer.tick(self.tick, [self.following, self.seen, self.drafted, self.panel.ui_language],
                        {self.seen, self.drafted, *self.views, self.timer}, concurrency_limit=None)
        # always_last: a turn that arrives while drafts are written gets its own drafts once these are done
        self.drafted.change(self.stream_drafts, [self.following, self.drafted, self.panel.ui_language],
                            {*self.boxes.values(), *self.marks.values(), self.status},
                            show_progress="hidden", trigger_mode="always_last", concurrency_limit=4)

    @property
    def follow_outputs(self) -> set:
        return {self.following, self.seen, self.drafted, *self.views, self.timer, *self.boxes.values(),
                *self.marks.values(), self.status}

    # ------------------------------------------------------------ layout

    def _views(self) -> None:
        panel = self.panel
        with gr.Row(equal_height=True):
            self.conv_id = panel.labelled(gr.Textbox(label=FIRST["conversation_id"], elem_id="conversation-id", scale=3),
                                          "conversation_id")
            self.follow_button = panel.labelled(gr.Button(FIRST["follow"], variant="primary", elem_id="follow", scale=1,
                                                          min_width=90), "follow", "value")
        self.alerts = gr.HTML(elem_id="alerts")
        self.trend = gr.HTML(elem_id="trend")
        with panel.labelled(gr.Accordion(FIRST["transcript"], open=True, elem_id="transcript-box"), "transcript"):
            self.transcript = gr.Markdown(line_breaks=True, elem_id="transcript")
        with panel.labelled(gr.Accordion(FIRST["ledger"], open=True, elem_id="ledger-box"), "ledger"):
            self.ledger = gr.Markdown(elem_id="ledger")
        self.status = gr.Markdown(elem_id="conv-status")
        self.views = (self.transcript, self.trend, self.alerts, self.ledger)

    def _drafts(self) -> None:
        self.boxes, self.marks = {}, {}
        for kind in DRAFT_KINDS:
            box = self.panel.labelled(gr.Textbox(label=FIRST[kind], lines=4, elem_id=f"conv-draft-{kind}", buttons=["copy"]), kind)
            mark = self.panel.labelled(gr.HighlightedText(label=FIRST["violations"], elem_id=f"conv-marks-{kind}",
                                                          combine_adjacent=False, visible=False), "violations")
            box.input(self.recheck_draft, [self.following, box], [mark], show_progress="hidden")
            self.boxes[kind], self.marks[kind] = box, mark

    def _agent_text(self) -> None:
        panel = self.panel
        self.agent_text = panel.labelled(gr.Textbox(label=FIRST["agent_text"], lines=3, elem_id="agent-text"), "agent_text")
        check = panel.labelled(gr.Button(FIRST["check_turn"], elem_id="check-turn"), "check_turn", "value")
        self.turn_marks = panel.labelled(gr.HighlightedText(label=FIRST["violations"], elem_id="turn-marks", combine_adjacent=False),
                                         "violations")
        self.turn_findings = gr.Markdown(elem_id="turn-findings")
        check.click(self.check_turn, [self.following, self.agent_text, panel.ui_language], {self.turn_marks, self.turn_findings})

    def _rewrite(self) -> None:
        panel = self.panel
        source = panel.follows(gr.Dropdown(source_choices(FIRST), value="agent", label=FIRST["rewrite_source"], elem_id="rewrite-source"),
                               lambda labels: gr.update(choices=source_choices(labels), label=labels["rewrite_source"]))
        control = panel.follows(gr.Radio(control_choices(FIRST), value="shorter", label=FIRST["rewrite_control"], elem_id="rewrite-control"),
                                lambda labels: gr.update(choices=control_choices(labels), label=labels["rewrite_control"]))
        target = panel.follows(gr.Dropdown(target_choices(FIRST), value="", label=FIRST["rewrite_target"], elem_id="rewrite-target"),
                               lambda labels: gr.update(choices=target_choices(labels), label=labels["rewrite_target"]))
        button = panel.labelled(gr.Button(FIRST["rewrite_button"], elem_id="rewrite"), "rewrite_button", "value")
        self.rewritten = panel.labelled(gr.Textbox(label=FIRST["rewritten"], lines=4, elem_id="rewritten", buttons=["copy"]), "rewritten")
        self.rewritten_marks = panel.labelled(gr.HighlightedText(label=FIRST["violations"], elem_id="rewritten-marks",
                                                                 combine_adjacent=False), "violations")
        self.rewrite_notes = gr.Markdown(elem_id="rewrite-notes")
        button.click(self.rewrite, [self.following, source, control, target, self.agent_text, *self.boxes.values(), panel.ui_language],
                     {self.rewritten, self.rewritten_marks, self.rewrite_notes})

    def _brief(self) -> None:
        panel = self.panel
        with gr.Row(equal_height=True):
            language = panel.follows(
                gr.Dropdown([(name, code) for code, name in LANGUAGE_NAMES.items()], value="zh-Hant", label=FIRST["brief_language"],
                            elem_id="brief-language", scale=2),
                lambda labels: gr.update(label=labels["brief_language"], value=labels["_code"]))
            button = panel.labelled(gr.Button(FIRST["brief_button"], elem_id="brief-button", scale=2), "brief_button", "value")
        box = gr.Markdown(elem_id="brief", line_breaks=True)
        button.click(self.brief, [self.following, language, panel.ui_language], [box])

    # ------------------------------------------------------------ following

    def read(self, cid: str, seen: int, drafted: str, labels: dict[str, str]) -> tuple[int, str, dict, bool]:
        """(seen, drafted, view updates, keep polling) for the followed conversation. The views are left alone while
        the turn count is still `seen`; `drafted` becomes "<id>:<turn index>" when the newest turn is the
        customer's, which starts the streamed drafts for it."""
        try:
            conversation = self.panel.copilot.conversation(cid)
        except UnknownConversation as exc:
            return -1, drafted, {self.transcript: f"**⚠ {md_text(str(exc))}**", self.trend: "", self.alerts: "", self.ledger: ""}, False
        if len(conversation.turns) == seen:
            return seen, drafted, {}, True
        newest = conversation.turns[-1] if conversation.turns else None
        if newest is not None and newest.role == "customer":
            drafted = f"{cid}:{newest.index}"
        views = {self.transcript: render_transcript(conversation, labels), self.trend: render_trend(conversation, labels),
                 self.alerts: render_alerts(conversation, labels), self.ledger: render_ledger(conversation, labels)}
        return len(conversation.turns), drafted, views, True

    def follow(self, cid_text: str, following: str, drafted: str, ui: str) -> dict:
        labels = labels_for(ui)
        cid = (cid_text or "").strip()
        cleared: dict = {}
        if cid != following:  # another conversation: the drafts on screen are not for it
            cleared = {box: "" for box in self.boxes.values()} | {m: gr.update(value=[], visible=False) for m in self.marks.values()}
            cleared[self.status] = ""
        stopped = {self.timer: gr.Timer(active=False), self.following: "", self.seen: -1}
        if not cid:
            return cleared | stopped | {self.drafted: "", self.transcript: labels["follow_first"], self.trend: "", self.alerts: "",
                                        self.ledger: ""}
        try:
            seen, drafted, views, polling = self.read(cid, -1, drafted if cid == following else "", labels)
        except Exception as exc:  # the store cannot be read: say so rather than fail the page
            return cleared | stopped | {self.drafted: drafted, self.transcript: f"**⚠ {md_text(str(exc))}**", self.trend: "",
                                        self.alerts: "", self.ledger: ""}
        return cleared | views | {self.following: cid if polling else "", self.seen: seen, self.drafted: drafted,
                                  self.timer: gr.Timer(active=polling)}

    def tick(self, cid: str, seen: int, drafted: str, ui: str) -> dict:
        if not cid:
            return {self.timer: gr.Timer(active=False)}
        try:
            seen, drafted, views, polling = self.read(cid, seen, drafted, labels_for(ui))
        except Exception as exc:  # a timer must not raise every tick; show it and keep trying
            return {self.transcript: f"**⚠ {md_text(str(exc))}**"}
        return {self.seen: seen, self.drafted: drafted, **views} | ({} if polling else {self.timer: gr.Timer(active=False)})

    def stream_drafts(self, cid: str, key: str, ui: str):
        """A generator: the three drafts for the newest customer turn as they are written, with the checker's
        findings on each finished sentence, then the finished drafts."""
        owner, _, index = (key or "").rpartition(":")
        if not cid or owner != cid:
            yield {self.status: gr.skip()}  # nothing to draft (an empty dict would be read as one positional value)
            return
        labels = labels_for(ui)
        turn = labels["turn_n"].format(n=int(index) + 1)
        texts = dict.fromkeys(DRAFT_KINDS, "")
        found: dict[str, list] = {k: [] for k in DRAFT_KINDS}
        engines: dict[str, str] = {}
        notices: list[str] = []

        def now(texts_of=(), marks_of=()) -> dict:
            """The boxes of `texts_of` and the marks of `marks_of`; a draft's marks show only when the checker found
            something in it (no second copy of a clean draft)."""
            return {self.boxes[k]: texts[k] for k in texts_of} | {
                self.marks[k]: gr.update(value=highlight(texts[k], SimpleNamespace(violations=found[k])), visible=bool(found[k]))
                for k in marks_of}

        yield now(DRAFT_KINDS, DRAFT_KINDS) | {self.status: f"{labels['writing']} ({turn})"}
        try:
            for event in self.panel.copilot.stream_next(cid):
                kind = event.kind
                if event.type == "delta" and kind:
                    texts[kind] = event.text or ""
                    yield now(texts_of=[kind])
                elif event.type == "check" and kind:
                    found[kind] = event.violations
                    yield now(marks_of=[kind])
                elif event.type == "draft" and event.draft is not None:
                    draft = event.draft
                    texts[draft.kind], found[draft.kind] = draft.text, draft.check.violations
                    engines[draft.kind] = made_by(draft.engine, draft.fixed_by)
                    yield now(texts_of=[draft.kind], marks_of=[draft.kind])
                elif event.type == "notice" and event.message:
                    notices.append(event.message)
                elif event.type == "done":
                    done = f"✓ {labels['drafts_for'].format(n=int(index) + 1)} · " + ", ".join(sorted(set(engines.values())))
                    yield {self.status: done + "".join(f"\n\n*{md_text(n)}*" for n in notices)}
        except CopilotError as exc:
            yield {self.status: f"**⚠ {labels['cannot_draft']}:** {md_text(str(exc))}"}

    # ------------------------------------------------------------ the agent's text

    def check_turn(self, cid: str, text: str, ui: str) -> dict:
        labels = labels_for(ui)
        if not cid:
            return {self.turn_marks: [], self.turn_findings: labels["follow_first"]}
        if not text or not text.strip():
            return {self.turn_marks: [], self.turn_findings: labels["no_text"]}
        try:
            result = self.panel.copilot.check_turn(cid, text)
        except CopilotError as exc:
            return {self.turn_marks: [], self.turn_findings: f"**{labels['cannot_check']}:** {md_text(str(exc))}"}
        return {self.turn_marks: highlight(text, result), self.turn_findings: findings(result)}

    def recheck_draft(self, cid: str, text: str):
        """A conversation draft the agent edits is re-checked against the conversation (rules and ledger)."""
        if not cid or not text or not text.strip():
            return gr.update(value=[], visible=False)
        try:
            result = self.panel.copilot.check_turn(cid, text)
        except CopilotError:
            return gr.update(value=[], visible=False)
        return gr.update(value=highlight(text, result), visible=bool(result.violations))

    def rewrite(self, cid: str, source: str, control: str, target: str, agent_text: str, *rest) -> dict:
        *drafts, ui = rest
        labels = labels_for(ui)
        text = {"agent": agent_text, **dict(zip(DRAFT_KINDS, drafts, strict=True))}.get(source) or ""
        failed = {self.rewritten: "", self.rewritten_marks: []}
        if not text.strip():
            return failed | {self.rewrite_notes: labels["no_text"]}
        try:
            result = self.panel.copilot.rewrite(RewriteRequest.model_validate(
                {"text": text, "control": control, "target": target or None, "conversation_id": cid or None}))
        except RewriteUnavailable as exc:
            return failed | {self.rewrite_notes: f"⚠ **{labels['cannot_rewrite']}:** {md_text(str(exc))}"}
        except (CopilotError, ValidationError) as exc:
            return failed | {self.rewrite_notes: f"**{labels['cannot_rewrite']}:** {md_text(str(exc))}"}
        engine = made_by(result.engine, result.fixed_by)
        notes = f"{findings(result.check)}\n\n`{result.language}` · {engine}" + "".join(f"\n\n*{md_text(n)}*" for n in result.notices)
        return {self.rewritten: result.text, self.rewritten_marks: highlight(result.text, result.check), self.rewrite_notes: notes}

    def brief(self, cid: str, language: str, ui: str) -> str:
        labels = labels_for(ui)
        if not cid:
            return labels["follow_first"]
        try:
            found = self.panel.copilot.escalation_brief(cid, language or None)
        except CopilotError as exc:
            return f"**{labels['cannot_brief']}:** {md_text(str(exc))}"
        return render_brief(found)
