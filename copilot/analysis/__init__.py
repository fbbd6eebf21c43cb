"""Reading the complaint: language, needs, anger, customer type, escalation signals, category, facts."""

from copilot.analysis.analyzer import Analyzer
from copilot.analysis.models import Analysis, CategoryMatch, Evidence, Facts, NeedFinding, SignalFinding

__all__ = ["Analysis", "Analyzer", "CategoryMatch", "Evidence", "Facts", "NeedFinding", "SignalFinding"]
