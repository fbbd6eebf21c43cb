"""The Guidance tab: search the knowledge base, with what the search noticed."""

from __future__ import annotations

import gradio as gr

from copilot.errors import CopilotError
from copilot.ui.kit import FIRST, Panel


class GuidanceTab:
    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        query = panel.labelled(gr.Textbox(label=FIRST["search"], elem_id="query"), "search")
        found = gr.Markdown()
        query.submit(self.search, [query], [found])

    def search(self, query: str) -> str:
        try:
            answer = self.panel.copilot.explain_search(query, k=5)
        except CopilotError as exc:
            return f"**Cannot search:** {exc}"
        notes = "".join(f"_Note: {n}_\n\n" for n in answer.notices)
        found = "\n\n".join(f"**{p.title}** / {p.section} `[{p.doc_id}]`\n\n{p.text}" for p in answer.passages)
        return notes + (found or "No passage matches.")
