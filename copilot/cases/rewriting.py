"""Rewriting a draft or the agent's own text with one control (shorter, warmer, more formal, simpler words, the
other script, another language), and checking the result."""

from __future__ import annotations

from typing import Literal

from copilot.cases.checking import Checking
from copilot.cases.conversations import Conversations
from copilot.checking import CheckContext, CheckError
from copilot.conversation.reader import ledger_of
from copilot.drafting.llm import LLMError
from copilot.drafting.llm_drafter import llm_rewrite_control
from copilot.drafting.rewrite import (
    Language,
    RewriteRequest,
    RewriteResult,
    RewriteUnavailable,
    script_target,
)
from copilot.parts import Parts
from copilot.privacy import mask_with_map, restore
from copilot.text import REPLY_LANGUAGES, detect_language, is_blank


class Rewriting:
    def __init__(self, parts: Parts, checking: Checking, conversations: Conversations) -> None:
        self.parts = parts
        self.checking = checking
        self.conversations = conversations

    def rewrite(self, request: RewriteRequest) -> RewriteResult:
        """Apply one rewrite control and re-check the result.

        The LLM (when configured) does every control but the script switch, which OpenCC does exactly; the
        composer does length, warmth, register, plain words and script, and says when a control needs the LLM.
        Raises RewriteUnavailable for what cannot be done, CheckError for text that cannot be checked."""
        text = request.text
        if is_blank(text):
            raise CheckError("the text is empty: paste the draft or the reply you want rewritten")
        lang = REPLY_LANGUAGES.get(request.language or detect_language(text), "en")
        target = self._target(request, lang)
        context = self._context(request)
        out, engine, notices = self._with_llm(request, text, lang, target)
        if out is None:
            try:
                out, more = self.parts.rewriter.apply(text, request.control, lang, target)
            except RewriteUnavailable as exc:
                if notices:  # the LLM was configured but failed: say so rather than "configure an LLM"
                    raise RewriteUnavailable(f"{notices[0]}, and the composer cannot do it: try again in a moment") from exc
                raise
            notices += more
        check = self.checking.check(out, target, context)
        fixed_by: Literal["none", "rules"] = "none"
        if check.violations and engine == "llm":
            fixed = self.checking.fix(out, target, context)
            out, check, fixed_by = fixed.text, fixed.check, "rules"
        return RewriteResult(text=out, original=text, control=request.control, language=target, engine=engine,
                             check=check, fixed_by=fixed_by, notices=notices)

    @staticmethod
    def _target(request: RewriteRequest, lang: Language) -> Language:
        if request.control == "script":
            return REPLY_LANGUAGES[script_target(lang, request.target)]
        if request.control == "language":
            if request.target is None or request.target == lang:
                raise RewriteUnavailable("say which language to switch to: target zh-Hant, zh-Hans or en (not the text's own)")
            return request.target
        return lang

    def _context(self, request: RewriteRequest) -> CheckContext:
        """A conversation's ledger, policy and level when the text belongs to one, else the request's own."""
        if not request.conversation_id:
            return CheckContext(level=request.level, policy=request.policy)
        conversation = self.conversations.read(request.conversation_id)
        return CheckContext(complaint=conversation.customer_text or None, level=conversation.start.level,
                            policy=request.policy or conversation.policy, ledger=ledger_of(conversation))

    def _with_llm(self, request: RewriteRequest, text: str, lang: Language,
                  target: Language) -> tuple[str | None, Literal["composer", "llm"], list[str]]:
        """The LLM's rewrite, or None (and why, when it failed) for the composer to try."""
        if self.parts.llm is None or request.control == "script":
            return None, "composer", []

        masked, mapping = mask_with_map(text)
        try:
            return restore(llm_rewrite_control(self.parts.llm, masked, request.control, lang, target), mapping), "llm", []
        except LLMError as exc:
            self.parts.metrics["llm_fallbacks"] += 1
            return None, "composer", [f"the LLM was not usable ({exc.reason})"]
