"""Amounts and deadlines in a reply, compared with the policy that applies and the agent's level."""

from __future__ import annotations

import re
from dataclasses import dataclass

from copilot.knowledge.policies import Level, PolicyCategory
from copilot.text.numbers import find_amounts, find_durations

# Sentences about goodwill compensation (refunding what was paid is a remedy, not compensation).
COMPENSATION_WORDS = {
    "zh": re.compile(r"补偿|赔偿|赔付|补贴|优惠券|代金券|折价券|礼券|购物金|购物券|红包|积分|抵扣|减免|免收|免除|豁免|返现|现金|额外|心意|慰问|credit|折扣"),
    "en": re.compile(
        r"compensat|voucher|coupon|credit|goodwill|gesture|discount|waive|points|cash|bonus|extra|make up for|on us",
        re.IGNORECASE,
    ),
}
# Money the customer is owed anyway (a refund of what they paid, an overcharge returned) is not goodwill.
ENTITLEMENT_WORDS = {
    "zh": re.compile(r"退回|退款|退还|返还|货款|全额|多扣|多收|退给|退到"),
    "en": re.compile(r"refund|back (in|to|on)|owed|overcharg|returned|full (amount|price)|entitled", re.IGNORECASE),
}
# ... unless the agent says they will ask someone with the authority.
APPROVAL_WORDS = {
    "zh": re.compile(r"申请|请示|报批|审批|批准|核准|向(我的|我们的)?(主管|经理|上级|领导)|请(主管|经理|上级)|争取"),
    "en": re.compile(
        r"\b(request|ask|apply|seek|get)\w*\b.{0,40}\b(approv|authori[sz]|sign[- ]off)|approval|"
        r"\b(ask|check with|speak to|get)\b.{0,12}\b(my |our )?(supervisor|manager|team lead)|"
        r"\b(supervisor|manager)\b.{0,30}\b(approv|agree|sign)|"
        r"\b(request|ask)\w*\b.{0,40}\b(supervisor|manager)",
        re.IGNORECASE,
    ),
}
# Which time frame a promise is about, by the words in its sentence (first match wins).
_FRAME_WORDS: list[tuple[str, dict[str, str]]] = [
    ("refund", {"zh": r"退款|退钱|退费|退回|到账|返还|退还|退到|退给|退至|退返|移除", "en": r"refund|money back|reimburs|credited back|back in(to)? your (account|card)|back on your card|back to your card"}),
    ("rebooking", {"zh": r"改签|重新预订|重新订|换到|安排(其他|下一)班|改到|安排(好)?[^。，]{0,6}(房|酒店|航班)", "en": r"rebook|re-book|new flight|another flight|alternative (flight|room|hotel)"}),
    ("pickup", {"zh": r"取件|上门取|取回|收回", "en": r"collect|pick[- ]?up"}),
    ("technician_visit", {"zh": r"上门|师傅|技术人员|工程师|维修人员|装机", "en": r"technician|engineer|visit|on[- ]site"}),
    ("replacement", {"zh": r"补发|换货|寄出|发货|寄给您|新的|重新寄|补寄|新卡", "en": r"replacement|new card|send (you )?(a )?new|reship|dispatch|ship"}),
    ("callback", {"zh": r"回电|回复您|回覆|联系您|打给您|致电|答复|回您电话|告诉您|通知您|跟您说|给您打电话|打电话给您|给您回电话|覆你|复你|覆您|打返|打俾|打畀|发短信|传简讯|发简讯|短信通知|发信息给您|发消息给您|发邮件给您|邮件", "en": r"call you|get back to you|contact you|reply|ring you|phone you|text you|email you|message you|send you (an? )?(update|email|text|message)"}),
    ("investigation", {"zh": r"调查|核查|查明|查清|核实|追查", "en": r"investigat|look into|check (it|this|what)|find out|trace"}),
    ("first_update", {"zh": r"更新|进度|进展", "en": r"update|progress"}),
    ("resolution", {"zh": r"解决|修好|修复|恢复|处理好|搞定|解除|解封|完成|处理完|办好", "en": r"fix|resolv|restor|sort(ed)? (it|this|out)|unblock|solved|complete"}),
]
_FRAME_RE = {
    lang: [(frame, re.compile(words[lang], re.IGNORECASE)) for frame, words in _FRAME_WORDS] for lang in ("zh", "en")
}
# Words that describe the outcome arriving, not the work starting ("到账" vs "帮您处理").
_CLAUSE_BREAK = re.compile(r"[，,；;：:]|\band\b|\bbut\b|而且|并且|然后|同时|另外")
_COMPLETION = {
    "zh": re.compile(r"到账|退到|退回到|到您|收到|送达|送到|寄到|到货|修好|恢复|解决|搞定|完成|办好|处理好|批下来|生效"),
    "en": re.compile(
        r"arriv|be back|reach you|be (fixed|resolved|restored|credited|refunded|done|sorted|approved)|see (it|the|your)|land|"
        r"show (up|on)|(have|get) (you|it|this|that) [a-z]+ed",
        re.I,
    ),
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
        if not COMPENSATION_WORDS[key].search(sentence) or APPROVAL_WORDS[key].search(sentence):
            continue
        for amount in find_amounts(sentence):
            # judge the amount by its own clause: "1,280 元貨款全額退回，另外再送您 30 元購物金"
            before = [m.end() for m in _CLAUSE_BREAK.finditer(sentence, 0, amount.start)]
            after = _CLAUSE_BREAK.search(sentence, amount.end)
            clause = sentence[before[-1] if before else 0 : after.start() if after else len(sentence)]
            if ENTITLEMENT_WORDS[key].search(clause) or not COMPENSATION_WORDS[key].search(clause):
                continue
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


# When a category has no time frame of the kind promised, the promise is held to the nearest one it has.
_FALLBACK = {
    "refund": ("resolution", "investigation"),
    "replacement": ("resolution",),
    "rebooking": ("resolution",),
    "technician_visit": ("resolution",),
    "pickup": ("resolution",),
    "callback": ("first_update",),
    "first_update": ("callback",),
    "resolution": ("investigation",),
}


def frame_of(sentence: str, language: str, near: tuple[int, int] | None = None) -> str | None:
    """The time frame a stretch of text talks about; with `near` (a span), the one whose words sit closest."""
    best: tuple[int, int, str] | None = None
    for order, (frame, pattern) in enumerate(_FRAME_RE[_key(language)]):
        for m in pattern.finditer(sentence):
            # English puts the verb before the time ("call you back within 2 hours"), Chinese mostly
            # after it ("24小時內回電"): words on the other side count as further away
            if near is None:
                distance = 0
            elif m.start() >= near[1]:
                distance = m.start() - near[1] + (12 if language == "en" else 0)
            else:
                distance = max(0, near[0] - m.end()) + (0 if language == "en" else 4)
            if best is None or (distance, order) < best[:2]:
                best = (distance, order, frame)
    return best[2] if best else None


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
            # the promise's own clause decides what it is about ("退款三天內", "collect it within 2 days")
            before = [m.end() for m in _CLAUSE_BREAK.finditer(sentence, 0, duration.start)]
            after = _CLAUSE_BREAK.search(sentence, duration.end)
            clause_start = before[-1] if before else 0
            clause = sentence[clause_start : after.start() if after else len(sentence)]
            frame = frame_of(clause, language, near=(duration.start - clause_start, duration.end - clause_start))
            if frame is None:
                continue  # a time with nothing promised in its clause ("I'll ask my supervisor today")
            if duration.immediate and not _COMPLETION[_key(language)].search(clause):
                continue  # "我馬上幫您查" starts the work now; it does not promise the result now
            allowed = category.time_frames.get(frame or "")
            for other in _FALLBACK.get(frame or "", ()):
                if allowed is not None:
                    break
                allowed = category.time_frames.get(other)
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
