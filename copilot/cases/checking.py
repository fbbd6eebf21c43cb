"""Checking texts against the "no excuses, no blame" rules, fixing them, logging what the agent sent, and the
agent's feedback."""

from __future__ import annotations

from copilot.audit import Feedback
from copilot.audit.store import analytics
from copilot.checking import NO_CONTEXT, CheckContext, CheckResult, FixResult
from copilot.errors import NotFound
from copilot.parts import Parts
from copilot.privacy import mask_pii


class UnknownSuggestion(NotFound):
    """Feedback names a suggestion that was never made."""

    code = "unknown_suggestion"


class Checking:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def check(self, text: str, language: str | None = None, context: CheckContext = NO_CONTEXT) -> CheckResult:
        """Check a draft or the agent's own text against the rules (and, with a conversation's ledger, against
        the promises already made)."""
        return self.parts.checker.check(text, language, context)

    def fix(self, text: str, language: str | None = None, context: CheckContext = NO_CONTEXT) -> FixResult:
        """Rewrite the flagged spans deterministically (phrasebook) and re-check until clean."""
        return self.parts.fixer.fix(text, language, context)

    def check_final(self, text: str, language: str | None = None, context: CheckContext = NO_CONTEXT, *,
                    suggestion_id: str | None = None, draft_kind: str | None = None, client: str | None = None) -> CheckResult:
        """Check the text the agent is about to send, and log it with its result."""
        result = self.parts.adjudicated(text, self.check(text, language, context), always=True)
        self.parts.stores.audit.record_check(text, result, final=True, suggestion_id=suggestion_id, draft_kind=draft_kind,
                                             client=client)
        return result

    def feedback(self, feedback: Feedback, *, client: str | None = None) -> dict:
        """Record the agent's verdict on a draft (and, if given, check and log the text they finally used)."""
        audit = self.parts.stores.audit
        if not audit.suggestion_exists(feedback.suggestion_id):
            raise UnknownSuggestion(f"no suggestion with id {feedback.suggestion_id!r}: quote the id a suggestion returned")
        result = None
        edited = False
        if feedback.final_text:
            result = self.check_final(feedback.final_text, suggestion_id=feedback.suggestion_id, draft_kind=feedback.draft_kind,
                                      client=client)
            edited = mask_pii(feedback.final_text) != audit.draft_text(feedback.suggestion_id, feedback.draft_kind)
        feedback_id = audit.record_feedback(feedback, client=client, edited=edited)
        return {"id": feedback_id, "edited": edited, "final_check": result.model_dump() if result else None}

    def analytics(self) -> dict[str, list[dict]]:
        """Suggestions per day, violation rate by rule, acceptance and edit rates, top categories."""
        return analytics(self.parts.stores.audit)
