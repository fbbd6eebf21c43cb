"""The agent side panel (Gradio): drafts with inline violations re-checked as the agent edits, feedback,
a checker for the agent's own text, guidance search and analytics. A thin layer over `Copilot`."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pandas as pd
import yaml

from copilot.audit import Feedback
from copilot.checking import CheckError
from copilot.drafting import DRAFT_KINDS, SuggestContext
from copilot.retrieval import IndexMissing, QueryError, StoreUnavailable
from copilot.service import ComplaintError, Copilot, UnknownSuggestion

LABELS: dict[str, dict[str, str]] = yaml.safe_load((Path(__file__).parent / "labels.yaml").read_text(encoding="utf-8"))
UI_LANGUAGES = {"繁體中文": "zh-Hant", "简体中文": "zh-Hans", "English": "en"}
REASONS = ["blame_removed", "wrong_policy", "tone_too_cold", "too_long", "other"]
CSS = ".gradio-container {max-width: 440px !important; margin: 0 !important;}"


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
    lines = [f"**{result.verdict}**"]
    lines += [f"- **{v.name}** “{v.text}”: {v.suggestion}" for v in result.violations]
    return "\n".join(lines)


def build_panel(copilot: Copilot) -> gr.Blocks:
    def suggest(complaint: str, level: str):
        empty = ("", "", "", "", [], [], [], "", "", "", "")
        if not complaint or not complaint.strip():
            return ("Paste the customer's message.", *empty)
        try:
            s = copilot.suggest(complaint, SuggestContext(level=level))  # type: ignore[arg-type]
        except ComplaintError as exc:
            return (f"**Cannot draft:** {exc}", *empty)
        a = s.analysis
        chips = [f"`{a.language}`", f"anger {a.anger}/3", f"`{a.customer_type}`"]
        chips += [f"`{n}`" for n in a.need_names] + [f"⚠ `{sig}`" for sig in a.signal_names]
        if a.hard_type:
            chips.append(f"`{a.hard_type}`")
        if a.injection:
            chips.append("⚠ `instructions in the complaint`")
        header = " · ".join(chips) + f"  \npolicy: `{s.policy or '-'}`" + "".join(f"\n\n*{n}*" for n in s.notices + a.notices)
        texts = [d.text for d in s.drafts]
        marks = [highlight(d.text, d.check) for d in s.drafts]
        engines = [f"{d.engine}" + (f", fixed by {d.fixed_by}" if d.fixed_by != "none" else "") for d in s.drafts]
        guidance = "\n\n".join(
            f"**{d.kind}**\n" + "\n".join(f"- {c.title} / {c.section} `[{c.doc_id}]`" for c in d.citations) for d in s.drafts
        )
        return (header, s.id, *texts, *marks, *engines, guidance)

    def recheck(text: str, level: str):
        if not text or not text.strip():
            return [], ""
        try:
            result = copilot.check(text, level=level)  # type: ignore[arg-type]
        except CheckError as exc:
            return [], str(exc)
        return highlight(text, result), findings(result)

    def send_feedback(suggestion_id: str, kind: str, useful: str, reason: str, text: str):
        if not suggestion_id:
            return "Draft first, then send feedback."
        try:
            copilot.feedback(Feedback(suggestion_id=suggestion_id, draft_kind=kind, useful=useful == "yes",  # type: ignore[arg-type]
                                      reason=reason or None, final_text=text or None))  # type: ignore[arg-type]
        except (UnknownSuggestion, ValueError) as exc:
            return f"Not saved: {exc}"
        return "✓ saved"

    def check(text: str, level: str, policy: str):
        if not text or not text.strip():
            return [], "Paste the reply you want to check.", ""
        try:
            result = copilot.check(text, level=level, policy=policy or None)  # type: ignore[arg-type]
            fixed = copilot.fix(text, level=level, policy=policy or None) if result.violations else None  # type: ignore[arg-type]
        except CheckError as exc:
            return [], f"**Cannot check:** {exc}", ""
        report = findings(result) + f"\n\nMoves missing: {', '.join(result.moves_missing) or 'none'}"
        return highlight(text, result), report, fixed.text if fixed else text

    def search(query: str):
        try:
            passages = copilot.search_knowledge(query, k=5)
        except (QueryError, IndexMissing, StoreUnavailable) as exc:
            return f"**Cannot search:** {exc}"
        return "\n\n".join(f"**{p.title}** / {p.section} `[{p.doc_id}]`\n\n{p.text}" for p in passages) or "No passage matches."

    def analytics():
        data = copilot.analytics()
        frames = [pd.DataFrame(data[k]) if data[k] else pd.DataFrame({c: [] for c in cols})
                  for k, cols in (("per_day", ["day", "suggestions"]), ("by_rule", ["rule", "rate"]),
                                  ("rates", ["measure", "rate"]), ("categories", ["category", "suggestions"]))]
        return tuple(frames)

    policies = [""] + [c.key for c in copilot.policies.categories()]
    with gr.Blocks(title="complaint-copilot") as panel:
        ui_language = gr.Radio(list(UI_LANGUAGES), value="繁體中文", label=LABELS["zh-Hant"]["ui_language"], elem_id="ui-language")
        title = gr.Markdown(f"### {LABELS['zh-Hant']['title']}")
        suggestion_id = gr.State("")
        with gr.Tab(LABELS["zh-Hant"]["tab_suggest"], elem_id="tab-suggest") as tab_suggest:
            complaint = gr.Textbox(label=LABELS["zh-Hant"]["complaint"], lines=4, elem_id="complaint")
            level = gr.Dropdown(["agent", "supervisor", "manager"], value="agent", label=LABELS["zh-Hant"]["level"])
            draft_button = gr.Button(LABELS["zh-Hant"]["draft"], variant="primary", elem_id="draft")
            analysis = gr.Markdown(elem_id="analysis")
            boxes, marks, engines, feedback_parts = [], [], [], []
            for kind in DRAFT_KINDS:
                box = gr.Textbox(label=LABELS["zh-Hant"][kind], lines=5, elem_id=f"draft-{kind}", buttons=["copy"])
                mark = gr.HighlightedText(label=LABELS["zh-Hant"]["violations"], elem_id=f"marks-{kind}", combine_adjacent=False)
                engine = gr.Markdown(elem_id=f"engine-{kind}")
                found = gr.Markdown(elem_id=f"findings-{kind}")
                with gr.Row():
                    useful = gr.Radio(["yes", "no"], label=LABELS["zh-Hant"]["useful"], elem_id=f"useful-{kind}")
                    reason = gr.Dropdown(["", *REASONS], value="", label=LABELS["zh-Hant"]["reason"], elem_id=f"reason-{kind}")
                send = gr.Button(LABELS["zh-Hant"]["send_feedback"], size="sm", elem_id=f"send-{kind}")
                status = gr.Markdown(elem_id=f"status-{kind}")
                box.change(recheck, [box, level], [mark, found])
                send.click(lambda sid, u, r, t, k=kind: send_feedback(sid, k, u, r, t), [suggestion_id, useful, reason, box], [status])
                boxes.append(box)
                marks.append(mark)
                engines.append(engine)
                feedback_parts.append((useful, reason, send))
            with gr.Accordion(LABELS["zh-Hant"]["guidance"], open=False) as guidance_box:
                guidance = gr.Markdown(elem_id="guidance")
            draft_button.click(suggest, [complaint, level], [analysis, suggestion_id, *boxes, *marks, *engines, guidance])
        with gr.Tab(LABELS["zh-Hant"]["tab_check"], elem_id="tab-check") as tab_check:
            text = gr.Textbox(label=LABELS["zh-Hant"]["reply"], lines=5, elem_id="reply")
            with gr.Row():
                check_level = gr.Dropdown(["agent", "supervisor", "manager"], value="agent", label=LABELS["zh-Hant"]["level"])
                policy = gr.Dropdown(policies, value="", label=LABELS["zh-Hant"]["policy"])
            go = gr.Button(LABELS["zh-Hant"]["check"], variant="primary", elem_id="check")
            highlighted = gr.HighlightedText(label=LABELS["zh-Hant"]["violations"], elem_id="highlighted", combine_adjacent=False)
            report = gr.Markdown(elem_id="report")
            fixed = gr.Textbox(label=LABELS["zh-Hant"]["rewrite"], lines=4, elem_id="fixed", buttons=["copy"])
            go.click(check, [text, check_level, policy], [highlighted, report, fixed])
        with gr.Tab(LABELS["zh-Hant"]["tab_guidance"], elem_id="tab-guidance") as tab_guidance:
            query = gr.Textbox(label=LABELS["zh-Hant"]["search"], elem_id="query")
            found_passages = gr.Markdown()
            query.submit(search, [query], [found_passages])
        with gr.Tab(LABELS["zh-Hant"]["tab_analytics"], elem_id="tab-analytics") as tab_analytics:
            refresh = gr.Button(LABELS["zh-Hant"]["refresh"], elem_id="refresh")
            per_day = gr.BarPlot(x="day", y="suggestions", title="Suggestions per day")
            by_rule = gr.BarPlot(x="rule", y="rate", title="Violation rate by rule")
            rates = gr.BarPlot(x="measure", y="rate", title="Acceptance and edit rates")
            categories = gr.BarPlot(x="category", y="suggestions", title="Top complaint categories")
            refresh.click(analytics, [], [per_day, by_rule, rates, categories])

        def relabel(choice: str):
            labels = LABELS[UI_LANGUAGES[choice]]
            updates = [gr.update(label=labels["ui_language"]), f"### {labels['title']}",
                       gr.update(label=labels["tab_suggest"]), gr.update(label=labels["tab_check"]),
                       gr.update(label=labels["tab_guidance"]), gr.update(label=labels["tab_analytics"]),
                       gr.update(label=labels["complaint"]), gr.update(label=labels["level"]), gr.update(value=labels["draft"])]
            for kind in DRAFT_KINDS:
                updates += [gr.update(label=labels[kind]), gr.update(label=labels["violations"])]
            for _ in DRAFT_KINDS:
                updates += [gr.update(label=labels["useful"]), gr.update(label=labels["reason"]), gr.update(value=labels["send_feedback"])]
            updates += [gr.update(label=labels["guidance"]), gr.update(label=labels["reply"]), gr.update(value=labels["check"]),
                        gr.update(label=labels["rewrite"]), gr.update(label=labels["search"]), gr.update(value=labels["refresh"])]
            return updates

        outputs = [ui_language, title, tab_suggest, tab_check, tab_guidance, tab_analytics, complaint, level, draft_button]
        for box, mark in zip(boxes, marks, strict=True):
            outputs += [box, mark]
        for useful, reason, send in feedback_parts:
            outputs += [useful, reason, send]
        outputs += [guidance_box, text, go, fixed, query, refresh]
        ui_language.change(relabel, [ui_language], outputs)

        def prefill(request: gr.Request):
            # a CRM can open the panel with the case: /?complaint=...&level=supervisor. Without them the
            # fields are left alone (the agent may already be typing when this arrives).
            params = dict(request.query_params) if request else {}
            complaint_update = params["complaint"] if params.get("complaint") else gr.update()
            level_update = params["level"] if params.get("level") in ("agent", "supervisor", "manager") else gr.update()
            return complaint_update, level_update

        panel.load(prefill, [], [complaint, level])
    return panel
