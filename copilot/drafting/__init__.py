"""Drafting: the composer (deterministic) and the LLM engine, with their drafts checked and fixed."""

from copilot.drafting.composer import Composer
from copilot.drafting.models import DRAFT_KINDS, Citation, Draft, SuggestContext, Suggestion

__all__ = ["DRAFT_KINDS", "Citation", "Composer", "Draft", "SuggestContext", "Suggestion"]
