from __future__ import annotations

from dataclasses import dataclass

from copilot.checking.ledger import Ledger
from copilot.knowledge.policies import Level, PolicyCategory


@dataclass(frozen=True)
class CheckContext:
    """What a text is held to besides the rules: the complaint it answers (quoting it is not flagged), the
    agent's authority level, the policy that applies and a conversation's promises so far."""

    complaint: str | None = None
    level: Level = "agent"
    policy: PolicyCategory | str | None = None
    ledger: Ledger | None = None



NO_CONTEXT = CheckContext()
