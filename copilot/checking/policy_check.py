"""Amounts and deadlines in a reply, compared with the policy that applies and the agent's level."""

from __future__ import annotations

import re
from dataclasses import dataclass

from copilot.knowledge.policies import Level, PolicyCategory
from copilot.text.numbers import find_amounts, find_durations

# Sentences about goodwill compensation (refunding what was paid is a remedy, not compensation).
_COMPENSATION = {
    "zh": re.compile(r"补偿|赔偿|赔付|补贴|优惠券|代金券|折价券|礼券|购物金|购物券|红包|积分|抵扣|减免|免收|免除|豁免|返现|现金|额外|心意|慰问|credit|折扣"),
    "en": re.compile(
        r"compensat|voucher|coupon|credit|goodwill|gesture|discount|waive|points|cash|bonus|extra|make up for|on us",
        re.IGNORECASE,
    ),
}
# ... unless the agent says they will ask someone with the authority.
_APPROVAL = {
    "zh": re.compile(r"申请|请示|报批|审批|批准|核准|向(我的|我们的)?(主管|经理|上级|领导)|请(主管|经理|上级)|争取"),
    "en": re.compile(
        r"\b(request|ask|apply|seek|get)\w*\b.{0,40}\b(approv|authori[sz]|sign[- ]off)|approval|"
        r"\b(ask|check with|speak to|get)\b.{0,12}\b(my |our )?(supervisor|manager|team lead)|"
        r"\b(supervisor|manager)\b.{0,30}\b(approv|agree|sign)",
        re.IGNORECASE,
    ),
}
# Which time frame a promise is about, by the words in its sentence (first match wins).
_FRAME_WORDS: list[tuple[str, dict[str, str]]] = [
    ("refund", {"zh": r"退款|退钱|退费|退回|到账|返还|退还", "en": r"refund|money back|reimburs|credited back"}),
    ("pickup", {"zh": r"取件|上门取|取回|收回", "en": r"collect|pick[- ]?up"}),
    ("technician_visit", {"zh": r"上门|师傅|技术人员|工程师|维修人员|装机", "en": r"technician|engineer|visit|on[- ]site"}),
    ("replacement", {"zh": r"补发|换货|寄出|发货|寄给您|新的|重新寄|补寄|新卡", "en": r"replacement|new card|send (you )?(a )?new|reship|dispatch|ship"}),
    ("callback", {"zh": r"回电|回复您|回覆|联系您|打给您|致电|答复|回您电话", "en": r"call you|get back to you|contact you|reply|ring you|phone you"}),
    ("investigation", {"zh": r"调查|核查|查明|查清|核实|追查", "en": r"investigat|look into|check (it|this|what)|find out|trace"}),
    ("first_update", {"zh": r"更新|进度|进展", "en": r"update|progress"}),
    ("resolution", {"zh": r"解决|修好|修复|恢复|处理好|搞定|解除|解封|完成|处理完|办好", "en": r"fix|resolv|restor|sort(ed)? (it|this|out)|unblock|solved|complete"}),
]
_FRAME_RE = {
    lang: [(frame, re.compile(words[lang], re.IGNORECASE)) for frame, words in _FRAME_WORDS] for lang in ("zh", "en")
}
_GUARANTEE_ZH = re.compile(r"通常|一般|大约|大概|预计|最晚|最迟|之后|以后|超过|至少")
_GUARANTEE_EN = re.compile(r"usually|normally|typically|about|around|at the latest|no later than|after|at least|expected", re.I)


@dataclass(frozen=True)
class PolicyBreach:
    kind: str  # "amount" | "deadline"
    start: int
    end: int
    limit_text: str
    detail: dict[str, str]


def _key(language: str) -> str:
    return "en" if language == "en" else "zh"


def check_amounts(
    norm_text: str, sentences: list[tuple[int, int]], language: str, level: Level, category: PolicyCategory
) -> list[PolicyBreach]:
    key = _key(language)
    limit = category.limit(level)
    breaches = []
    for start, end in sentences:
        sentence = norm_text[start:end]
        if not _COMPENSATION[key].search(sentence) or _APPROVAL[key].search(sentence):
            continue
        for amount in find_amounts(sentence):
            if amount.value > limit:
                approver = category.approver_for(amount.value) or "manager"
                breaches.append(
                    PolicyBreach(
                        "amount",
                        start + amount.start,
                        start + amount.end,
                        f"{category.currency} {limit:g} ({level})",
                        {
                            "limit": f"{limit:g}",
                            "currency": category.currency,
                            "level": level,
                            "approver": approver,
                            "amount": f"{amount.value:g}",
                        },
                    )
                )
    return breaches


def frame_of(sentence: str, language: str) -> str | None:
    for frame, pattern in _FRAME_RE[_key(language)]:
        if pattern.search(sentence):
            return frame
    return None


def check_deadlines(
    norm_text: str, sentences: list[tuple[int, int]], language: str, category: PolicyCategory
) -> list[PolicyBreach]:
    breaches = []
    hedge = _GUARANTEE_EN if language == "en" else _GUARANTEE_ZH
    for start, end in sentences:
        sentence = norm_text[start:end]
        durations = find_durations(sentence, language)
        if not durations:
            continue
        for duration in durations:
            # the words just before the promise decide what it is about ("退款三天内" / "call you back today")
            window = sentence[max(0, duration.start - 30) : duration.end + 30]
            frame = frame_of(window, language) or frame_of(sentence, language)
            allowed = category.time_frames.get(frame or "")
            if allowed is None or duration.hours >= allowed.in_hours:
                continue
            if hedge.search(sentence[max(0, duration.start - 8) : duration.end + 6]):
                continue
            breaches.append(
                PolicyBreach(
                    "deadline",
                    start + duration.start,
                    start + duration.end,
                    allowed.describe(language),
                    {"frame": frame or "", "allowed": allowed.describe(language)},
                )
            )
    return breaches
