"""The agent side panel: check a reply (highlighted violations, suggested fixes) and search guidance.

A thin layer over the `Copilot` service; the drafting panel arrives with the drafting engine.
"""

from __future__ import annotations

import gradio as gr

from copilot.checking import CheckError
from copilot.retrieval import IndexMissing, QueryError, StoreUnavailable
from copilot.service import Copilot


def _highlight(text: str, result) -> list[tuple[str, str | None]]:
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


def build_panel(copilot: Copilot) -> gr.Blocks:
    def check(text: str, level: str, policy: str):
        if not text or not text.strip():
            return [], "Paste the reply you want to check.", ""
        try:
            result = copilot.check(text, level=level, policy=policy or None)  # type: ignore[arg-type]
            fixed = copilot.fix(text, level=level, policy=policy or None) if result.violations else None  # type: ignore[arg-type]
        except CheckError as exc:
            return [], f"**Cannot check:** {exc}", ""
        lines = [f"**Verdict: {result.verdict}** ({result.language})"]
        for v in result.violations:
            lines.append(f"- **{v.name}** `{v.rule_id}`: “{v.text}”  \n  {v.explanation}  \n  *Fix:* {v.suggestion}")
        lines.append(f"\nMoves missing: {', '.join(result.moves_missing) or 'none'}")
        return _highlight(text, result), "\n".join(lines), fixed.text if fixed else text

    def suggest(complaint: str, level: str):
        from copilot.drafting import SuggestContext
        from copilot.service import ComplaintError

        if not complaint or not complaint.strip():
            return "Paste the customer's message.", "", "", "", ""
        try:
            s = copilot.suggest(complaint, SuggestContext(level=level))  # type: ignore[arg-type]
        except ComplaintError as exc:
            return f"**Cannot draft:** {exc}", "", "", "", ""
        a = s.analysis
        chips = [f"`{a.language}`", f"anger {a.anger}/3", f"`{a.customer_type}`"]
        chips += [f"need: `{n}`" for n in a.need_names] + [f"⚠ `{sig}`" for sig in a.signal_names]
        if a.hard_type:
            chips.append(f"type: `{a.hard_type}`")
        if a.injection:
            chips.append("⚠ `instructions in the complaint`")
        header = " · ".join(chips) + f"  \npolicy: `{s.policy or '-'}`"
        notes = "".join(f"\n\n*{n}*" for n in s.notices + a.notices)
        texts = [f"{d.text}" for d in s.drafts]
        cites = "\n".join(
            f"- **{d.kind}** ({d.engine}{', fixed by ' + d.fixed_by if d.fixed_by != 'none' else ''}): "
            + "; ".join(f"{c.title} / {c.section} `[{c.doc_id}]`" for c in d.citations)
            for d in s.drafts
        )
        return header + notes, texts[0], texts[1], texts[2], cites

    def search(query: str):
        try:
            passages = copilot.search_knowledge(query, k=5)
        except (QueryError, IndexMissing, StoreUnavailable) as exc:
            return f"**Cannot search:** {exc}"
        return "\n\n".join(f"**{p.title}** / {p.section} `[{p.doc_id}]`\n\n{p.text}" for p in passages) or "No passage matches."

    policies = [""] + [c.key for c in copilot.policies.categories()]
    with gr.Blocks(title="complaint-copilot") as panel:
        gr.Markdown("### complaint-copilot")
        with gr.Tab("Suggest"):
            complaint = gr.Textbox(label="Customer's message", lines=4, elem_id="complaint")
            suggest_level = gr.Dropdown(["agent", "supervisor", "manager"], value="agent", label="Level")
            draft_button = gr.Button("Draft", variant="primary", elem_id="draft")
            analysis = gr.Markdown(elem_id="analysis")
            empathetic = gr.Textbox(label="Empathetic reply", lines=5, elem_id="draft-empathetic", buttons=["copy"])
            lowering = gr.Textbox(label="Expectation-lowering explanation", lines=5, elem_id="draft-lowering", buttons=["copy"])
            compensation = gr.Textbox(label="Compensation wording", lines=4, elem_id="draft-compensation", buttons=["copy"])
            citations = gr.Markdown(elem_id="citations")
            draft_button.click(suggest, [complaint, suggest_level], [analysis, empathetic, lowering, compensation, citations])
        with gr.Tab("Check"):
            text = gr.Textbox(label="Reply", lines=5, elem_id="reply")
            with gr.Row():
                level = gr.Dropdown(["agent", "supervisor", "manager"], value="agent", label="Level")
                policy = gr.Dropdown(policies, value="", label="Policy")
            go = gr.Button("Check", variant="primary", elem_id="check")
            highlighted = gr.HighlightedText(label="Violations", elem_id="highlighted", combine_adjacent=False)
            report = gr.Markdown(elem_id="report")
            fixed = gr.Textbox(label="Suggested rewrite", lines=4, elem_id="fixed")
            go.click(check, [text, level, policy], [highlighted, report, fixed])
            text.change(check, [text, level, policy], [highlighted, report, fixed])
        with gr.Tab("Guidance"):
            query = gr.Textbox(label="Search the knowledge base", elem_id="query")
            found = gr.Markdown()
            gr.Button("Search").click(search, [query], [found])
    return panel
