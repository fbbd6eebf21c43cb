"""The Analytics tab: suggestions per day, violation rate by rule, acceptance and edits, top categories."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from copilot.ui.kit import FIRST, Panel

PLOTS = (("per_day", "day", "suggestions", "Suggestions per day"), ("by_rule", "rule", "rate", "Violation rate by rule"),
         ("rates", "measure", "rate", "Acceptance and edit rates"), ("categories", "category", "suggestions", "Top complaint categories"))


class AnalyticsTab:
    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        refresh = panel.labelled(gr.Button(FIRST["refresh"], elem_id="refresh"), "refresh", "value")
        self.plots = {key: gr.BarPlot(x=x, y=y, title=title) for key, x, y, title in PLOTS}
        refresh.click(self.refresh, [], set(self.plots.values()))

    def refresh(self) -> dict:
        data = self.panel.copilot.analytics()
        return {plot: pd.DataFrame(data[key]) if data[key] else pd.DataFrame({c: [] for c in (x, y)})
                for (key, x, y, _), plot in zip(PLOTS, self.plots.values(), strict=True)}
