"""The agent side panel (Gradio): a live conversation followed turn by turn (transcript, mood trend, alerts,
the promises ledger, drafts streamed as they are written, the agent's reply checked against the ledger,
rewrite controls, the escalation brief), drafts with inline violations re-checked as the agent edits,
feedback, a checker for the agent's own text, guidance search and analytics. A thin layer over `Copilot`:
one builder per tab (`copilot/ui/tabs/`), the shared pieces in `kit.py`."""

from __future__ import annotations

import gradio as gr

from copilot.service import Copilot
from copilot.ui.kit import CHANNELS, FIRST, LEVELS, UI_LANGUAGES, Panel, findings, highlight, labels_for
from copilot.ui.tabs.analytics import AnalyticsTab
from copilot.ui.tabs.check import CheckTab
from copilot.ui.tabs.conversation import ConversationTab
from copilot.ui.tabs.guidance import GuidanceTab
from copilot.ui.tabs.suggest import SuggestTab
from copilot.ui.views import LABELS, md_text

__all__ = ["CSS", "build_panel", "findings", "highlight", "labels_for", "md_text"]

CSS = ".gradio-container {max-width: 440px !important; margin: 0 !important;}"


def build_panel(copilot: Copilot) -> gr.Blocks:
    with gr.Blocks(title="complaint-copilot") as page:
        language = gr.Radio(list(UI_LANGUAGES), value="繁體中文", label=FIRST["ui_language"], elem_id="ui-language")
        panel = Panel(copilot, language)
        panel.labelled(language, "ui_language")
        panel.follows(gr.Markdown(f"### {FIRST['title']}"), lambda labels: f"### {labels['title']}")
        conversation = ConversationTab(panel)
        with gr.Tabs(selected="suggest") as tabs:
            with panel.labelled(gr.Tab(FIRST["tab_conversation"], id="conversation", elem_id="tab-conversation"), "tab_conversation"):
                conversation.build()
            with panel.labelled(gr.Tab(FIRST["tab_suggest"], id="suggest", elem_id="tab-suggest"), "tab_suggest"):
                suggest = SuggestTab(panel)
            with panel.labelled(gr.Tab(FIRST["tab_check"], id="check", elem_id="tab-check"), "tab_check"):
                CheckTab(panel)
            with panel.labelled(gr.Tab(FIRST["tab_guidance"], id="guidance", elem_id="tab-guidance"), "tab_guidance"):
                GuidanceTab(panel)
            with panel.labelled(gr.Tab(FIRST["tab_analytics"], id="analytics", elem_id="tab-analytics"), "tab_analytics"):
                AnalyticsTab(panel)

        def relabel(choice: str) -> list:
            code = UI_LANGUAGES[choice]
            labels = {**LABELS[code], "_code": code}
            # the conversation's views are drawn again, in the new language, at the next tick
            return [make(labels) for _, make in panel.relabels] + [-1]

        language.change(relabel, [language], [component for component, _ in panel.relabels] + [conversation.seen])

        def prefill(drafted_now: str, ui: str, request: gr.Request) -> dict:
            # a CRM can open the panel with the case: /?complaint=...&level=supervisor, or on a live conversation:
            # /?conversation=<id>, which opens the Conversation tab and follows it. Without them the fields are
            # left alone (the agent may already be typing when this arrives).
            params = dict(request.query_params) if request else {}
            out: dict = {}
            if params.get("complaint"):
                out[suggest.complaint] = params["complaint"]
            if params.get("level") in LEVELS:
                out[suggest.level] = params["level"]
            if params.get("channel") in CHANNELS:
                out[suggest.channel] = params["channel"]
            cid = (params.get("conversation") or "").strip()
            if cid:
                out |= {conversation.conv_id: cid, tabs: gr.Tabs(selected="conversation")}
                out |= conversation.follow(cid, "", drafted_now, ui)
            return out or {suggest.complaint: gr.skip()}  # Gradio reads an empty dict as one positional value

        page.load(prefill, [conversation.drafted, language],
                  {suggest.complaint, suggest.level, suggest.channel, conversation.conv_id, tabs, *conversation.follow_outputs})
    return page
