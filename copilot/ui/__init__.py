"""The agent side panel (Gradio), mounted in the API app."""

from copilot.ui.panel import build_panel

__all__ = ["build_panel"]
