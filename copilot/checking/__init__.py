"""The "no excuses, no blame" checker: rules as data, exact spans, policy limits, deterministic fixes."""

from copilot.checking.checker import Checker
from copilot.checking.context import NO_CONTEXT, CheckContext
from copilot.checking.fixer import Fixer, FixResult
from copilot.checking.models import CATEGORIES, CheckError, CheckResult, MoveCheck, Violation
from copilot.checking.rules import RuleFileError, load_rules

__all__ = [
    "CATEGORIES",
    "NO_CONTEXT",
    "CheckContext",
    "CheckError",
    "CheckResult",
    "Checker",
    "FixResult",
    "Fixer",
    "MoveCheck",
    "RuleFileError",
    "Violation",
    "load_rules",
]
