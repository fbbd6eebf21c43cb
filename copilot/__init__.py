"""complaint-copilot: an agent-assist copilot for live customer complaints."""

from copilot.runtime import configure_offline

configure_offline()

__version__ = "0.1.0"
