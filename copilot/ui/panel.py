"""The agent side panel (Gradio): a live conversation followed turn by turn (transcript, mood trend, alerts,
the promises ledger, drafts streamed as they are written, the agent's reply checked against the ledger,
rewrite controls, the escalation brief), drafts with inline violations re-checked as the agent edits,
feedback, a checker for the agent's own text, guidance search and analytics. A thin layer over `Copilot`."""

from __future__ import annotations

import html
from collections.abc import Callable
from types import SimpleNamespace

import gradio as gr
import pandas as pd
from pydantic import ValidationError

from copilot.audit import Feedback
from copilot.checking import CheckContext, CheckError
from copilot.drafting import DRAFT_KINDS, SuggestContext
from copilot.drafting.rewrite import CONTROLS, RewriteRequest, RewriteUnavailable
from copilot.knowledge.policies import LEVEL_NAMES
from copilot.retrieval import IndexMissing, QueryError, StoreUnavailable
from copilot.service import ComplaintError, Copilot, UnknownConversation, UnknownSuggestion
from copilot.ui.views import (
    LABELS,
    md_text,
    render_alerts,
    render_brief,
    render_ledger,
    render_transcript,
    render_trend,
)

UI_LANGUAGES = {"繁體中文": "zh-Hant", "简体中文": "zh-Hans", "English": "en"}
REASONS = ["blame_removed", "wrong_policy", "tone_too_cold", "too_long", "other"]
CSS = ".gradio-container {max-width: 440px !important; margin: 0 !important;}"
LANGUAGE_NAMES = {"zh-Hant": "繁體中文", "zh-Hans": "简体中文", "en": "English"}
POLL_SECONDS = 1.5  # how often a followed conversation is re-read


def highlight(text: str, result) -> list[tuple[str, str | None]]:
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


def labels_for(choice: str) -> dict[str, str]:
    return LABELS[UI_LANGUAGES.get(choice, "zh-Hant")]


def build_panel(copilot: Copilot) -> gr.Blocks:
    def suggest(complaint: str, level: str, channel: str, ui: str):
        """The analysis as chips, and each draft once: its text with any finding marked in place."""
        labels = labels_for(ui)
        cleared = {suggestion_id: ""} | {views[k]: gr.update(value=[]) for k in DRAFT_KINDS} | {boxes[k]: "" for k in DRAFT_KINDS} \
            | {engines[k]: "" for k in DRAFT_KINDS} | {found_boxes[k]: "" for k in DRAFT_KINDS} | {guidance: ""}
        if not complaint or not complaint.strip():
            return cleared | {analysis: labels["complaint_needed"]}
        try:
            s = copilot.suggest(complaint, SuggestContext.model_validate({"level": level, "channel": channel}))
        except ComplaintError as exc:
            return cleared | {analysis: f"**{labels['cannot_draft']}:** {md_text(str(exc))}"}
        a = s.analysis
        chips = [f"`{a.language}`", f"{labels['anger']} {a.anger}/3", f"`{a.customer_type}`"]
        chips += [f"`{n}`" for n in a.need_names] + [f"⚠ `{sig}`" for sig in a.signal_names]
        if a.hard_type:
            chips.append(f"`{a.hard_type}`")
        if a.injection:
            chips.append("⚠ `instructions in the complaint`")
        problem = f"{labels['problem']}{labels['colon']}{md_text(a.topic.phrase) if a.topic else '—'}" + (f" (`{a.problem_type}`)" if a.problem_type else "")
        policy = f"{labels['policy']}{labels['colon']}`{s.policy}`" if s.policy else f"{labels['policy']}{labels['colon']}{labels['no_policy']}"
        header = " · ".join(chips) + f"  \n{problem}  \n{policy}" + "".join(f"\n\n*{md_text(n)}*" for n in s.notices + a.notices)
        out = {analysis: header, suggestion_id: s.id}
        for d in s.drafts:
            out[views[d.kind]] = gr.update(value=highlight(d.text, d.check), visible=True)
            out[boxes[d.kind]] = gr.update(value=d.text, visible=False)
            out[engines[d.kind]] = f"*{d.engine}" + (f", fixed by {d.fixed_by}" if d.fixed_by != "none" else "") + "*"
            out[found_boxes[d.kind]] = findings(d.check) if d.check.violations else ""
        out[guidance] = "\n\n".join(
            f"**{labels[d.kind]}**\n" + "\n".join(f"- {c.title} / {c.section} `[{c.doc_id}]`" for c in d.citations) for d in s.drafts
        )
        return out | {edit_buttons[k]: gr.update(value=labels["edit"]) for k in DRAFT_KINDS} | {editing[k]: False for k in DRAFT_KINDS}

    def recheck_findings(text: str, level: str) -> str:
        marks, report = recheck(text, level)
        return "" if all(label is None for _, label in marks) else report

    def toggle_edit(is_editing: bool, text: str, level: str, ui: str):
        """Edit: the draft becomes a text box. Done: it is shown again, checked, with findings marked in place."""
        labels = labels_for(ui)
        if not is_editing:
            return True, gr.update(visible=False), gr.update(visible=True), gr.update(value=labels["done"]), gr.skip()
        marks, report = recheck(text, level)
        clean = all(label is None for _, label in marks)
        return False, gr.update(value=marks, visible=True), gr.update(visible=False), gr.update(value=labels["edit"]), "" if clean else report

    def recheck(text: str, level: str):
        if not text or not text.strip():
            return [], ""
        try:
            result = copilot.check(text, context=CheckContext(level=LEVEL_NAMES.get(level, "agent")))
        except CheckError as exc:
            return [], str(exc)
        return highlight(text, result), findings(result)

    def send_feedback(suggestion_id: str, kind: str, useful: str, reason: str, text: str):
        if not suggestion_id:
            return "Draft first, then send feedback."
        try:
            copilot.feedback(Feedback.model_validate({"suggestion_id": suggestion_id, "draft_kind": kind, "useful": useful == "yes",
                                                      "reason": reason or None, "final_text": text or None}))
        except (UnknownSuggestion, ValueError) as exc:
            return f"Not saved: {exc}"
        return "✓ saved"

    def check(text: str, level: str, policy: str):
        if not text or not text.strip():
            return [], "Paste the reply you want to check.", ""
        try:
            context = CheckContext(level=LEVEL_NAMES.get(level, "agent"), policy=policy or None)
            result = copilot.check(text, context=context)
            fixed = copilot.fix(text, context=context) if result.violations else None
        except CheckError as exc:
            return [], f"**Cannot check:** {exc}", ""
        report = findings(result) + f"\n\nMoves missing: {', '.join(result.moves_missing) or 'none'}"
        return highlight(text, result), report, fixed.text if fixed else text

    def search(query: str):
        try:
            answer = copilot.explain_search(query, k=5)
        except (QueryError, IndexMissing, StoreUnavailable) as exc:
            return f"**Cannot search:** {exc}"
        notes = "".join(f"_Note: {n}_\n\n" for n in answer.notices)
        found = "\n\n".join(f"**{p.title}** / {p.section} `[{p.doc_id}]`\n\n{p.text}" for p in answer.passages)
        return notes + (found or "No passage matches.")

    def analytics():
        data = copilot.analytics()
        frames = [pd.DataFrame(data[k]) if data[k] else pd.DataFrame({c: [] for c in cols})
                  for k, cols in (("per_day", ["day", "suggestions"]), ("by_rule", ["rule", "rate"]),
                                  ("rates", ["measure", "rate"]), ("categories", ["category", "suggestions"]))]
        return tuple(frames)

    # ------------------------------------------------------------ the Conversation tab

    def conversation_views(cid: str, seen: int, drafted: str, labels: dict[str, str]):
        """(seen, drafted, transcript, trend, alerts, ledger, keep_polling) for the followed conversation.

        The views are skipped when the turn count is still `seen`; `drafted` becomes "<id>:<turn index>"
        when the newest turn is the customer's, which starts the streamed drafts for it."""
        try:
            conversation = copilot.conversation(cid)
        except UnknownConversation as exc:
            return -1, drafted, f"**⚠ {md_text(str(exc))}**", "", "", "", False
        if len(conversation.turns) == seen:
            return seen, drafted, gr.skip(), gr.skip(), gr.skip(), gr.skip(), True
        newest = conversation.turns[-1] if conversation.turns else None
        if newest is not None and newest.role == "customer":
            drafted = f"{cid}:{newest.index}"
        return (len(conversation.turns), drafted, render_transcript(conversation, labels), render_trend(conversation, labels),
                render_alerts(conversation, labels), render_ledger(conversation, labels), True)

    def follow(cid_text: str, following: str, drafted: str, ui: str):
        labels = labels_for(ui)
        cid = (cid_text or "").strip()
        # another conversation: the drafts on screen are not for it
        hidden = gr.update(value=[], visible=False)
        cleared = ([""] * len(DRAFT_KINDS) + [hidden] * len(DRAFT_KINDS) + [""] if cid != following
                   else [gr.skip()] * (2 * len(DRAFT_KINDS) + 1))
        if not cid:
            return ("", -1, "", labels["follow_first"], "", "", "", gr.Timer(active=False), *cleared)
        try:
            seen, drafted, *views, polling = conversation_views(cid, -1, drafted if cid == following else "", labels)
        except Exception as exc:  # the store cannot be read: say so rather than fail the page
            return ("", -1, drafted, f"**⚠ {md_text(str(exc))}**", "", "", "", gr.Timer(active=False), *cleared)
        return (cid if polling else "", seen, drafted, *views, gr.Timer(active=polling), *cleared)

    def tick(cid: str, seen: int, drafted: str, ui: str):
        if not cid:
            return (seen, drafted, *[gr.skip()] * 4, gr.Timer(active=False))
        try:
            seen, drafted, *views, polling = conversation_views(cid, seen, drafted, labels_for(ui))
        except Exception as exc:  # a timer must not raise every tick; show it and keep trying
            return (seen, drafted, f"**⚠ {md_text(str(exc))}**", gr.skip(), gr.skip(), gr.skip(), gr.skip())
        return (seen, drafted, *views, gr.skip() if polling else gr.Timer(active=False))

    def stream_drafts(cid: str, key: str, ui: str):
        """A generator: the three drafts for the newest customer turn as they are written, with the
        checker's findings on each finished sentence, then the finished drafts."""
        n_out = 2 * len(DRAFT_KINDS) + 1
        owner, _, index = (key or "").rpartition(":")
        if not cid or owner != cid:
            yield tuple([gr.skip()] * n_out)
            return
        labels = labels_for(ui)
        turn = labels["turn_n"].format(n=int(index) + 1)
        texts = dict.fromkeys(DRAFT_KINDS, "")
        found: dict[str, list] = {k: [] for k in DRAFT_KINDS}
        engines: dict[str, str] = {}
        notices: list[str] = []

        def now(status=None, texts_of=(), marks_of=()):
            """One update: the boxes of `texts_of`, the marks of `marks_of` and the status; the rest left as they are.
            A draft's marks show only when the checker found something in it (no second copy of a clean draft)."""
            boxes = [texts[k] if k in texts_of else gr.skip() for k in DRAFT_KINDS]
            marks = [gr.update(value=highlight(texts[k], SimpleNamespace(violations=found[k])), visible=bool(found[k]))
                     if k in marks_of else gr.skip() for k in DRAFT_KINDS]
            return (*boxes, *marks, gr.skip() if status is None else status)

        yield now(f"{labels['writing']} ({turn})", DRAFT_KINDS, DRAFT_KINDS)
        try:
            for event in copilot.stream_next(cid):
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
                    engines[draft.kind] = draft.engine + (f", fixed by {draft.fixed_by}" if draft.fixed_by != "none" else "")
                    yield now(texts_of=[draft.kind], marks_of=[draft.kind])
                elif event.type == "notice" and event.message:
                    notices.append(event.message)
                elif event.type == "done":
                    done = f"✓ {labels['drafts_for'].format(n=int(index) + 1)} · " + ", ".join(sorted(set(engines.values())))
                    yield now(done + "".join(f"\n\n*{md_text(n)}*" for n in notices))
        except (UnknownConversation, ComplaintError, CheckError, IndexMissing, StoreUnavailable) as exc:
            yield now(f"**⚠ {labels['cannot_draft']}:** {md_text(str(exc))}")

    def check_turn(cid: str, text: str, ui: str):
        labels = labels_for(ui)
        if not cid:
            return [], labels["follow_first"]
        if not text or not text.strip():
            return [], labels["no_text"]
        try:
            result = copilot.check_turn(cid, text)
        except (UnknownConversation, CheckError, ComplaintError) as exc:
            return [], f"**{labels['cannot_check']}:** {md_text(str(exc))}"
        return highlight(text, result), findings(result)

    def recheck_draft(cid: str, text: str):
        """A conversation draft the agent edits is re-checked against the conversation (rules and ledger)."""
        if not cid or not text or not text.strip():
            return gr.update(value=[], visible=False)
        try:
            result = copilot.check_turn(cid, text)
        except (UnknownConversation, CheckError, ComplaintError):
            return gr.update(value=[], visible=False)
        return gr.update(value=highlight(text, result), visible=bool(result.violations))

    def rewrite(cid: str, source: str, control: str, target: str, agent_text: str, *rest):
        *drafts, ui = rest
        labels = labels_for(ui)
        text = {"agent": agent_text, **dict(zip(DRAFT_KINDS, drafts, strict=True))}.get(source) or ""
        if not text.strip():
            return "", [], labels["no_text"]
        try:
            result = copilot.rewrite(RewriteRequest.model_validate({"text": text, "control": control, "target": target or None,
                                                                    "conversation_id": cid or None}))
        except RewriteUnavailable as exc:
            return "", [], f"⚠ **{labels['cannot_rewrite']}:** {md_text(str(exc))}"
        except (CheckError, UnknownConversation, ComplaintError, ValidationError) as exc:
            return "", [], f"**{labels['cannot_rewrite']}:** {md_text(str(exc))}"
        engine = result.engine + (f", fixed by {result.fixed_by}" if result.fixed_by != "none" else "")
        notes = f"{findings(result.check)}\n\n`{result.language}` · {engine}" + "".join(f"\n\n*{md_text(n)}*" for n in result.notices)
        return result.text, highlight(result.text, result.check), notes

    def brief(cid: str, language: str, ui: str):
        labels = labels_for(ui)
        if not cid:
            return labels["follow_first"]
        try:
            found_brief = copilot.escalation_brief(cid, language or None)
        except (UnknownConversation, ComplaintError, QueryError, IndexMissing, StoreUnavailable) as exc:
            return f"**{labels['cannot_brief']}:** {md_text(str(exc))}"
        return render_brief(found_brief)

    policies = [""] + [c.key for c in copilot.policies.categories()]
    L = LABELS["zh-Hant"]
    relabels: list[tuple[gr.blocks.Block, Callable[[dict[str, str]], object]]] = []

    def labelled(component, key: str, attr: str = "label"):
        """Register a component whose `attr` is the label `key`, so it follows the interface language."""
        relabels.append((component, lambda labels: gr.update(**{attr: labels[key]})))
        return component

    def source_choices(labels):
        return [(labels["source_agent"], "agent")] + [(labels[k], k) for k in DRAFT_KINDS]

    def control_choices(labels):
        return [(labels[f"ctl_{c}"], c) for c in CONTROLS]

    def target_choices(labels):
        return [(labels["target_auto"], "")] + [(name, code) for code, name in LANGUAGE_NAMES.items()]

    with gr.Blocks(title="complaint-copilot") as panel:
        ui_language = labelled(gr.Radio(list(UI_LANGUAGES), value="繁體中文", label=L["ui_language"], elem_id="ui-language"),
                               "ui_language")
        title = gr.Markdown(f"### {L['title']}")
        relabels.append((title, lambda labels: f"### {labels['title']}"))
        suggestion_id = gr.State("")
        following = gr.State("")  # the conversation followed
        seen = gr.State(-1)  # its turn count when last shown
        drafted = gr.State("")  # "<id>:<turn index>" of the customer turn the drafts are for
        timer = gr.Timer(POLL_SECONDS, active=False)
        with gr.Tabs(selected="suggest") as tabs:
            with labelled(gr.Tab(L["tab_conversation"], id="conversation", elem_id="tab-conversation"), "tab_conversation"):
                with gr.Row(equal_height=True):
                    conv_id = labelled(gr.Textbox(label=L["conversation_id"], elem_id="conversation-id", scale=3), "conversation_id")
                    follow_button = labelled(gr.Button(L["follow"], variant="primary", elem_id="follow", scale=1, min_width=90),
                                             "follow", "value")
                alerts = gr.HTML(elem_id="alerts")
                trend = gr.HTML(elem_id="trend")
                with labelled(gr.Accordion(L["transcript"], open=True, elem_id="transcript-box"), "transcript"):
                    transcript = gr.Markdown(line_breaks=True, elem_id="transcript")
                with labelled(gr.Accordion(L["ledger"], open=True, elem_id="ledger-box"), "ledger"):
                    ledger = gr.Markdown(elem_id="ledger")
                conv_status = gr.Markdown(elem_id="conv-status")
                conv_boxes, conv_marks = [], []
                for kind in DRAFT_KINDS:
                    box = labelled(gr.Textbox(label=L[kind], lines=4, elem_id=f"conv-draft-{kind}", buttons=["copy"]), kind)
                    mark = labelled(gr.HighlightedText(label=L["violations"], elem_id=f"conv-marks-{kind}", combine_adjacent=False,
                                                       visible=False), "violations")
                    box.input(recheck_draft, [following, box], [mark], show_progress="hidden")
                    conv_boxes.append(box)
                    conv_marks.append(mark)
                agent_text = labelled(gr.Textbox(label=L["agent_text"], lines=3, elem_id="agent-text"), "agent_text")
                check_turn_button = labelled(gr.Button(L["check_turn"], elem_id="check-turn"), "check_turn", "value")
                turn_marks = labelled(gr.HighlightedText(label=L["violations"], elem_id="turn-marks", combine_adjacent=False),
                                      "violations")
                turn_findings = gr.Markdown(elem_id="turn-findings")
                rewrite_source = gr.Dropdown(source_choices(L), value="agent", label=L["rewrite_source"], elem_id="rewrite-source")
                rewrite_control = gr.Radio(control_choices(L), value="shorter", label=L["rewrite_control"], elem_id="rewrite-control")
                rewrite_target = gr.Dropdown(target_choices(L), value="", label=L["rewrite_target"], elem_id="rewrite-target")
                relabels += [
                    (rewrite_source, lambda labels: gr.update(choices=source_choices(labels), label=labels["rewrite_source"])),
                    (rewrite_control, lambda labels: gr.update(choices=control_choices(labels), label=labels["rewrite_control"])),
                    (rewrite_target, lambda labels: gr.update(choices=target_choices(labels), label=labels["rewrite_target"])),
                ]
                rewrite_button = labelled(gr.Button(L["rewrite_button"], elem_id="rewrite"), "rewrite_button", "value")
                rewritten = labelled(gr.Textbox(label=L["rewritten"], lines=4, elem_id="rewritten", buttons=["copy"]), "rewritten")
                rewritten_marks = labelled(gr.HighlightedText(label=L["violations"], elem_id="rewritten-marks", combine_adjacent=False),
                                           "violations")
                rewrite_notes = gr.Markdown(elem_id="rewrite-notes")
                with gr.Row(equal_height=True):
                    brief_language = gr.Dropdown([(name, code) for code, name in LANGUAGE_NAMES.items()], value="zh-Hant",
                                                 label=L["brief_language"], elem_id="brief-language", scale=2)
                    relabels.append((brief_language, lambda labels: gr.update(label=labels["brief_language"],
                                                                              value=labels["_code"])))
                    brief_button = labelled(gr.Button(L["brief_button"], elem_id="brief-button", scale=2), "brief_button", "value")
                brief_box = gr.Markdown(elem_id="brief", line_breaks=True)

                follow_outputs = [following, seen, drafted, transcript, trend, alerts, ledger, timer, *conv_boxes, *conv_marks,
                                  conv_status]
                follow_button.click(follow, [conv_id, following, drafted, ui_language], follow_outputs)
                conv_id.submit(follow, [conv_id, following, drafted, ui_language], follow_outputs)
                # a tick is a cheap read (the service caches by turn count): no need to queue them behind each other
                timer.tick(tick, [following, seen, drafted, ui_language], [seen, drafted, transcript, trend, alerts, ledger, timer],
                           concurrency_limit=None)
                # always_last: a turn that arrives while drafts are written gets its own drafts once these are done
                drafted.change(stream_drafts, [following, drafted, ui_language], [*conv_boxes, *conv_marks, conv_status],
                               show_progress="hidden", trigger_mode="always_last", concurrency_limit=4)
                check_turn_button.click(check_turn, [following, agent_text, ui_language], [turn_marks, turn_findings])
                rewrite_button.click(rewrite, [following, rewrite_source, rewrite_control, rewrite_target, agent_text, *conv_boxes,
                                               ui_language], [rewritten, rewritten_marks, rewrite_notes])
                brief_button.click(brief, [following, brief_language, ui_language], [brief_box])
            with labelled(gr.Tab(L["tab_suggest"], id="suggest", elem_id="tab-suggest"), "tab_suggest"):
                complaint = labelled(gr.Textbox(label=L["complaint"], lines=4, elem_id="complaint"), "complaint")
                with gr.Row(equal_height=True):
                    level = labelled(gr.Dropdown(["agent", "supervisor", "manager"], value="agent", label=L["level"], min_width=100), "level")
                    channel = labelled(gr.Dropdown(["chat", "social", "email", "phone"], value="chat", label=L["channel"],
                                                   elem_id="channel", min_width=100), "channel")
                draft_button = labelled(gr.Button(L["draft"], variant="primary", elem_id="draft"), "draft", "value")
                analysis = gr.Markdown(elem_id="analysis")
                views, boxes, engines, found_boxes, edit_buttons, editing = {}, {}, {}, {}, {}, {}
                with gr.Tabs(elem_id="draft-tabs"):
                    for kind in DRAFT_KINDS:
                        with labelled(gr.Tab(L[f"short_{kind}"], id=f"tab-{kind}", elem_id=f"tab-{kind}"), f"short_{kind}"):
                            # each draft is shown once: the text with findings marked in place, or, while the agent
                            # edits, a text box; its findings are listed under it either way
                            views[kind] = gr.HighlightedText(elem_id=f"draft-{kind}", show_label=False, combine_adjacent=False,
                                                             show_legend=False, container=False)
                            boxes[kind] = gr.Textbox(elem_id=f"edit-{kind}", lines=6, show_label=False, visible=False)
                            editing[kind] = gr.State(False)
                            with gr.Row(equal_height=True):
                                edit_buttons[kind] = labelled(gr.Button(L["edit"], size="sm", elem_id=f"edit-button-{kind}", min_width=60),
                                                              "edit", "value")
                                copy = labelled(gr.Button(L["copy"], size="sm", elem_id=f"copy-{kind}", min_width=60), "copy", "value")
                                engines[kind] = gr.Markdown(elem_id=f"engine-{kind}")
                            found_boxes[kind] = gr.Markdown(elem_id=f"findings-{kind}")
                            with gr.Row(equal_height=True):
                                useful = labelled(gr.Radio(["yes", "no"], label=L["useful"], elem_id=f"useful-{kind}", min_width=90), "useful")
                                reason = labelled(gr.Dropdown(["", *REASONS], value="", label=L["reason"], elem_id=f"reason-{kind}",
                                                              min_width=90), "reason")
                            send = labelled(gr.Button(L["send_feedback"], size="sm", elem_id=f"send-{kind}"), "send_feedback", "value")
                            status = gr.Markdown(elem_id=f"status-{kind}")
                            boxes[kind].change(recheck_findings, [boxes[kind], level], [found_boxes[kind]], show_progress="hidden")
                            edit_buttons[kind].click(toggle_edit, [editing[kind], boxes[kind], level, ui_language],
                                                     [editing[kind], views[kind], boxes[kind], edit_buttons[kind], found_boxes[kind]])
                            copy.click(None, [boxes[kind]], None, js="(text) => { navigator.clipboard && navigator.clipboard.writeText(text); }")
                            send.click(lambda sid, u, r, t, k=kind: send_feedback(sid, k, u, r, t), [suggestion_id, useful, reason, boxes[kind]],
                                       [status])
                with labelled(gr.Accordion(L["guidance"], open=False), "guidance"):
                    guidance = gr.Markdown(elem_id="guidance")
                suggest_outputs = {analysis, suggestion_id, guidance, *views.values(), *boxes.values(), *engines.values(),
                                   *found_boxes.values(), *edit_buttons.values(), *editing.values()}
                draft_button.click(suggest, [complaint, level, channel, ui_language], suggest_outputs)
            with labelled(gr.Tab(L["tab_check"], id="check", elem_id="tab-check"), "tab_check"):
                text = labelled(gr.Textbox(label=L["reply"], lines=5, elem_id="reply"), "reply")
                with gr.Row():
                    check_level = labelled(gr.Dropdown(["agent", "supervisor", "manager"], value="agent", label=L["level"]), "level")
                    policy = labelled(gr.Dropdown(policies, value="", label=L["policy"]), "policy")
                go = labelled(gr.Button(L["check"], variant="primary", elem_id="check"), "check", "value")
                highlighted = labelled(gr.HighlightedText(label=L["violations"], elem_id="highlighted", combine_adjacent=False),
                                       "violations")
                report = gr.Markdown(elem_id="report")
                fixed = labelled(gr.Textbox(label=L["rewrite"], lines=4, elem_id="fixed", buttons=["copy"]), "rewrite")
                go.click(check, [text, check_level, policy], [highlighted, report, fixed])
            with labelled(gr.Tab(L["tab_guidance"], id="guidance", elem_id="tab-guidance"), "tab_guidance"):
                query = labelled(gr.Textbox(label=L["search"], elem_id="query"), "search")
                found_passages = gr.Markdown()
                query.submit(search, [query], [found_passages])
            with labelled(gr.Tab(L["tab_analytics"], id="analytics", elem_id="tab-analytics"), "tab_analytics"):
                refresh = labelled(gr.Button(L["refresh"], elem_id="refresh"), "refresh", "value")
                per_day = gr.BarPlot(x="day", y="suggestions", title="Suggestions per day")
                by_rule = gr.BarPlot(x="rule", y="rate", title="Violation rate by rule")
                rates = gr.BarPlot(x="measure", y="rate", title="Acceptance and edit rates")
                categories = gr.BarPlot(x="category", y="suggestions", title="Top complaint categories")
                refresh.click(analytics, [], [per_day, by_rule, rates, categories])

        def relabel(choice: str):
            code = UI_LANGUAGES[choice]
            labels = {**LABELS[code], "_code": code}
            # the conversation's views are drawn again, in the new language, at the next tick
            return [make(labels) for _, make in relabels] + [-1]

        ui_language.change(relabel, [ui_language], [component for component, _ in relabels] + [seen])

        def prefill(drafted_now: str, ui: str, request: gr.Request):
            # a CRM can open the panel with the case: /?complaint=...&level=supervisor, or on a live conversation:
            # /?conversation=<id>, which opens the Conversation tab and follows it. Without them the fields are
            # left alone (the agent may already be typing when this arrives).
            params = dict(request.query_params) if request else {}
            complaint_update = params["complaint"] if params.get("complaint") else gr.skip()
            level_update = params["level"] if params.get("level") in ("agent", "supervisor", "manager") else gr.skip()
            channel_update = params["channel"] if params.get("channel") in ("chat", "social", "email", "phone") else gr.skip()
            cid = (params.get("conversation") or "").strip()
            if not cid:
                return (complaint_update, level_update, channel_update, gr.skip(), gr.skip(), *[gr.skip()] * len(follow_outputs))
            return (complaint_update, level_update, channel_update, cid, gr.Tabs(selected="conversation"),
                    *follow(cid, "", drafted_now, ui))

        panel.load(prefill, [drafted, ui_language], [complaint, level, channel, conv_id, tabs, *follow_outputs])
    return panel
