"""The composer: deterministic drafts from the analysis, the phrasebook and the policy.

It is the embedded default (no LLM configured) and the fallback when the LLM fails. Every sentence
comes from the vetted phrasebook with slots filled from the policy (time frames, limits, what cannot be
granted and why) and the analysis (the issue, the order number), so a draft is in the customer's
script, cites what it relies on, and stays inside the agent's authority by construction.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from copilot.analysis.models import Analysis
from copilot.checking.ledger import Ledger, describe_due
from copilot.drafting.models import DraftKind
from copilot.knowledge.phrasebook import Phrasebook, slots_of
from copilot.knowledge.policies import LEVELS, Level, PolicyCategory
from copilot.text.script import convert_script

COMPENSATION_LABEL = {
    "voucher": {"zh-Hant": "購物金", "zh-Hans": "购物金", "en": "voucher"},
    "bill_credit": {"zh-Hant": "帳單折抵", "zh-Hans": "账单抵扣", "en": "bill credit"},
    "refund": {"zh-Hant": "退款補償", "zh-Hans": "退款补偿", "en": "goodwill refund"},
    "fee_waiver": {"zh-Hant": "費用減免", "zh-Hans": "费用减免", "en": "fee waiver"},
    "points": {"zh-Hant": "積分", "zh-Hans": "积分", "en": "points"},
    "cash": {"zh-Hant": "現金補償", "zh-Hans": "现金补偿", "en": "cash compensation"},
}
APPROVER = {
    "supervisor": {"zh-Hant": "主管", "zh-Hans": "主管", "en": "my supervisor"},
    "manager": {"zh-Hant": "經理", "zh-Hans": "经理", "en": "our manager"},
}
# After its first mention the issue is referred to briefly, as a person would.
SHORT_ISSUE = {"zh-Hant": "這件事", "zh-Hans": "这件事", "en": "this"}
# Policy text is written about "the customer"; a reply speaks to them.
_TO_SECOND_PERSON = {
    "zh-Hant": [("客戶的", "您的"), ("客戶", "您")],
    "zh-Hans": [("客户的", "您的"), ("客户", "您")],
    "en": [("the customer's", "your"), ("The customer's", "Your"), ("the customer", "you"), ("The customer", "You")],
}
GENERIC = {
    "issue": {"zh-Hant": "這次的狀況", "zh-Hans": "这次的情况", "en": "this problem"},
    "deadline": {"zh-Hant": "24 小時內", "zh-Hans": "24 小时内", "en": "within 24 hours"},
    "action": {"zh-Hant": "親自追蹤處理這件事", "zh-Hans": "亲自跟进处理这件事", "en": "follow this up myself"},
}


def _restate_amount(remedy: str, amount: float | None) -> str:
    """The remedy phrase with the amount already offered in place of the limit."""
    if amount is None:
        return remedy
    return re.sub(r"\d+(?:\.\d+)?", f"{amount:g}", remedy, count=1)


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"\s+", "", text.lower())
    return {text[i : i + 2] for i in range(len(text) - 1)}


class Composer:
    def __init__(self, phrasebook: Phrasebook, is_clean: Callable[[str, str], bool] | None = None) -> None:
        self.phrasebook = phrasebook
        # a policy's category name can read like blame on its own ("hotel overbooking"): the service
        # passes the checker so such a name is replaced by a neutral one
        self.is_clean = is_clean

    # ------------------------------------------------------------------ slots

    def slots(self, analysis: Analysis, category: PolicyCategory | None, lang: str) -> dict[str, str]:
        issue = GENERIC["issue"][lang]
        if category is not None:
            name = category.names.get(lang, category.names["en"])
            order = analysis.facts.order_ids[0] if analysis.facts.order_ids else None
            if lang == "en":
                issue = f"the {name.lower()}" + (f" on order {order}" if order else "")
            else:
                issue = (f"訂單 {order} 的" if lang == "zh-Hant" else f"订单 {order} 的") + name if order else name
        if self.is_clean is not None and not self.is_clean(issue, lang):
            issue = GENERIC["issue"][lang]
        deadline = GENERIC["deadline"][lang]
        if category is not None:
            frame = category.time_frames.get("callback") or category.time_frames.get("first_update")
            if frame is not None:
                deadline = frame.describe(lang)
        return {"issue": issue, "deadline": deadline, "action": GENERIC["action"][lang]}

    def cannot_grant(self, complaint: str, category: PolicyCategory | None, lang: str) -> tuple[str, str] | None:
        """(reason, alternative) for the request that best matches the complaint, if the policy lists any."""
        if category is None or not category.cannot_grant:
            return None
        words = _bigrams(complaint)
        best = max(category.cannot_grant, key=lambda c: len(words & _bigrams(c.request.get(lang, c.request["en"]))))
        reason = best.reason.get(lang) or convert_script(best.reason["zh-Hant"], lang)
        alternative = best.alternative.get(lang) or convert_script(best.alternative["zh-Hant"], lang)
        for old, new in _TO_SECOND_PERSON[lang]:
            reason, alternative = reason.replace(old, new), alternative.replace(old, new)
        if lang == "en":
            reason = reason[:1].lower() + reason[1:]
            alternative = alternative[:1].lower() + alternative[1:]
        return reason.rstrip("。."), alternative.rstrip("。.")

    # ------------------------------------------------------------------ drafts

    def compose(
        self,
        kind: DraftKind,
        complaint: str,
        analysis: Analysis,
        category: PolicyCategory | None,
        level: Level,
        channel: str | None = None,
        ledger: Ledger | None = None,
    ) -> str:
        """One draft. With a conversation's `ledger`, promises already made are restated, not changed, and
        an agent who apologised in each of their last two turns reassures instead of apologising again."""
        lang = analysis.reply_language
        slots = self.slots(analysis, category, lang)
        promised = self._promised_deadline(ledger, lang)
        if promised:
            slots["deadline"] = promised
        seed = int(hashlib.sha1(f"{kind}\x1f{complaint}".encode()).hexdigest(), 16)
        moves: list[tuple[str, dict[str, str]]] = []
        needs = set(analysis.need_names)
        signals = set(analysis.signal_names)
        if ledger is not None and ledger.agent_turns and kind in ("empathetic_reply", "compensation"):
            moves = self._continuing(kind, analysis, category, level, lang, slots, ledger, promised)
        elif kind == "empathetic_reply":
            if analysis.anger >= 3 and analysis.hard_type != "fox" and channel == "phone":
                moves.append(("invite_venting", {}))
            moves.append(("acknowledge", slots))
            if analysis.anger >= 1 or "vent" in needs or analysis.hard_type == "hedgehog":
                moves.append(("empathise", slots))
            moves.append(("apologise", slots))
            if analysis.hard_type == "snake":
                moves.append(("clarify_facts", slots))
            if "respect" in needs or analysis.anger <= 1:
                moves.append(("thank", slots))
            moves.append(("own", slots))
            moves.append(("next_step", slots))
            if "manager" in signals and level == "agent":
                moves.append(("escalate", slots | {"approver": APPROVER["supervisor"][lang]}))
            moves.append(("follow_up", slots))
        elif kind == "expectation_lowering":
            moves.append(("acknowledge", slots))
            found = self.cannot_grant(complaint, category, lang)
            if found:
                reason, alternative = found
                moves.append(("lower_expectations", slots | {"reason": reason, "alternative": alternative}))
            else:
                moves.append(("lower_expectations", {}))
            moves.append(("own", slots))
            moves.append(("next_step", slots))
            moves.append(("follow_up", slots))
        else:
            moves.append(("apologise", slots))
            moves += self._compensation_moves(analysis, category, level, lang, slots)
            moves.append(("follow_up", slots))
        if ledger is not None:
            moves = self._keep_to_ledger(moves, ledger, promised, slots)
        sentences: list[str] = []
        issue_said = deadline_said = False
        for i, (move, fill) in enumerate(moves):
            if issue_said and "issue" in fill:
                fill = fill | {"issue": SHORT_ISSUE[lang]}
            phrase = self._pick(lang, move, fill, seed + i, sentences)
            if phrase and ledger is not None and deadline_said and slots["deadline"] in phrase:
                continue  # in a conversation, the promised time is said once per reply
            if phrase:
                sentences.append(phrase)
                issue_said = issue_said or fill.get("issue", "") in phrase
                deadline_said = deadline_said or slots["deadline"] in phrase
        joiner = " " if lang == "en" else ""
        return joiner.join(sentences)

    def _continuing(
        self, kind: DraftKind, analysis: Analysis, category: PolicyCategory | None, level: Level, lang: str,
        slots: dict[str, str], ledger: Ledger, promised: str | None,
    ) -> list[tuple[str, dict[str, str]]]:
        """Moves for a reply in the middle of a conversation: the case has been acknowledged already, so
        answer the mood, keep the promises, and move the next step on, briefly."""
        moves: list[tuple[str, dict[str, str]]] = []
        if kind == "compensation":
            offered = ledger.current("compensation")
            if offered is not None and category is not None:
                label = COMPENSATION_LABEL.get(category.compensation.type, COMPENSATION_LABEL["voucher"])[lang]
                moves.append(("compensation_given", slots | {"remedy": self._remedy(offered.amount or 0, label, lang)}))
                moves += [m for m in self._compensation_moves(analysis, category, level, lang, slots) if m[0] == "request_approval"]
            else:
                moves.append(("apologise", slots))
                moves += self._compensation_moves(analysis, category, level, lang, slots)
            moves.append(("follow_up", slots))
            return moves
        if analysis.anger >= 2:
            moves.append(("empathise", slots))
        moves.append(("apologise", slots))
        if ledger.apologies_in_a_row < 2:  # the reassuring line that replaces a third apology already owns it
            moves.append(("own", slots))
        escalated = any(c.kind == "escalation" for c in ledger.commitments)
        if "manager" in analysis.signal_names and level == "agent" and not escalated:
            moves.append(("escalate", slots | {"approver": APPROVER["supervisor"][lang]}))
        moves.append(("follow_up", slots) if promised else ("next_step", slots))
        return moves

    @staticmethod
    def _promised_deadline(ledger: Ledger | None, lang: str) -> str | None:
        contact = ledger.current("callback") if ledger is not None else None
        if contact is None or contact.due is None or ledger is None or ledger.now is None or contact.due <= ledger.now:
            return None
        return describe_due(contact.due, ledger.now, lang)

    def _keep_to_ledger(
        self, moves: list[tuple[str, dict[str, str]]], ledger: Ledger, promised: str | None, slots: dict[str, str]
    ) -> list[tuple[str, dict[str, str]]]:
        out = []
        for move, fill in moves:
            if move == "apologise" and ledger.apologies_in_a_row >= 2:
                move = "reassure"
            elif move == "follow_up" and promised:
                move = "keep_promise"
            elif move == "offer_compensation" and (offered := ledger.current("compensation")) is not None:
                label = fill.get("remedy", "")
                fill = fill | {"remedy": _restate_amount(label, offered.amount)}
            out.append((move, fill))
        return out

    def _compensation_moves(
        self, analysis: Analysis, category: PolicyCategory | None, level: Level, lang: str, slots: dict[str, str]
    ) -> list[tuple[str, dict[str, str]]]:
        if category is None:
            return [("own", slots), ("next_step", slots)]
        limit = category.limit(level)
        label = COMPENSATION_LABEL.get(category.compensation.type, COMPENSATION_LABEL["voucher"])[lang]
        moves: list[tuple[str, dict[str, str]]] = []
        if limit > 0:
            # only {remedy}: a phrase that adds {amount} on top would go past the limit
            moves.append(("offer_compensation", slots | {"remedy": self._remedy(limit, label, lang)}))
        asked = max(analysis.facts.demanded, default=0.0)
        if asked > limit and level != "manager":
            higher = next((lvl for lvl in LEVELS[LEVELS.index(level) + 1 :] if asked <= category.limit(lvl)), "manager")
            request = min(asked, category.limit(higher))
            moves.append(("request_approval", slots | {"approver": APPROVER[higher][lang], "remedy": self._remedy(request, label, lang)}))
        return moves

    def _remedy(self, amount: float, label: str, lang: str) -> str:
        if lang == "en":
            return f"a CNY {amount:g} {label}"
        return f"{amount:g} 元的{label}"

    def _pick(self, lang: str, move: str, fill: dict[str, str], seed: int, used: list[str]) -> str | None:
        """A phrase of `move` (variety by seed), preferring ones that use the slots we can fill."""
        phrases = self.phrasebook.phrases(lang, move)
        if not phrases:
            return None
        usable = [p for p in phrases if slots_of(p) <= {k for k, v in fill.items() if v}]
        rich = [p for p in usable if slots_of(p)] or usable
        if move in ("next_step", "follow_up") and fill.get("deadline"):
            # a next step without a time frame is not a commitment: prefer phrases that state when
            rich = [p for p in rich if "deadline" in slots_of(p)] or rich
        for offset in range(len(rich)):
            phrase = rich[(seed + offset) % len(rich)]
            text = phrase.format(**{k: fill[k] for k in slots_of(phrase)})
            if text not in used:
                return text
        return None
