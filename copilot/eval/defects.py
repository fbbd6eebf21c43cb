"""Defects a reader would spot in a draft before sending it, found without a judge: a sentence said twice,
an empty slot, a public post longer than one post or asking for personal data in public, a chat reply
that runs on, words that belong to another channel, two different time frames, money or a time frame no
policy backs."""

from __future__ import annotations

import re

from copilot.text.numbers import find_amounts, find_durations
from copilot.text.script import to_simplified
from copilot.text.sentences import split_sentences

SOCIAL_LIMIT = {"zh-Hant": 140, "zh-Hans": 140, "en": 280}
CHAT_MAX_SENTENCES = 4

_EMPTY_SLOT = re.compile(r"\{[a-z_]+\}|的情况，而且|的情況，而且|[，,、]\s*[。.]|\(\s*\)|（\s*）")
_SPOKEN_ONLY = re.compile(r"挂了电话|掛了電話|掛斷電話後|after I hang up|once I hang up|when we hang up|我在听|我在聽|thanks for calling", re.IGNORECASE)
_WRITTEN_ONLY = re.compile(r"私信|私訊|回复这封邮件|回覆這封郵件|回复邮件|\bDM\b|direct message|reply to this email|reply with", re.IGNORECASE)
_PRIVATE = re.compile(r"私信|私訊|\bDM\b|direct message|private message|inbox", re.IGNORECASE)
_PERSONAL = re.compile(
    r"手机号|手機號|电话号码|電話號碼|联系电话|聯絡電話|地址|身份证|身分證|身份證|卡号|卡號|银行卡|銀行卡|订单号|訂單號|账号|帳號|"
    r"phone number|mobile number|address|card number|account number|order number|date of birth|social security|ssn|passport",
    re.IGNORECASE,
)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in split_sentences(text) if s.strip()]


def draft_defects(text: str, lang: str, channel: str, has_policy: bool, complaint: str = "", policy_text: str = "") -> list[str]:
    """The names of the defects found in one draft (empty when none). Amounts and durations the customer
    wrote are theirs to have said back, and those in the policy's own wording (a remedy, the reason something
    cannot be granted) are the policy's; only the others count."""
    found: list[str] = []
    sentences = _sentences(text)
    normal = [re.sub(r"\W+", "", s.lower()) for s in sentences]
    if len(normal) != len(set(normal)):
        found.append("repeated_sentence")
    if _EMPTY_SLOT.search(text):
        found.append("empty_slot")
    if channel == "social":
        if len(text) > SOCIAL_LIMIT.get(lang, 140):
            found.append("over_one_post")
        for sentence in sentences:
            if _PERSONAL.search(sentence) and not _PRIVATE.search(sentence):
                found.append("personal_data_in_public")
                break
    # a reader counts sentences by their full stops; a Chinese semicolon joins clauses of one sentence
    body = [s for s in re.split(r"(?<=[。！？!?])|(?<=[.!?])\s+", text) if s.strip() and not re.fullmatch(r"\s*(?:您好|你好|Hi|Hello)[，,:：]?\s*", s)]
    if channel == "chat" and len(body) > CHAT_MAX_SENTENCES:
        found.append("chat_too_long")
    if channel != "phone" and _SPOKEN_ONLY.search(text):
        found.append("other_channel")
    if channel == "phone" and _WRITTEN_ONLY.search(text):
        found.append("other_channel")
    if channel in ("chat", "email") and re.search(r"私信|私訊|\bDM\b", text):
        found.append("other_channel")
    scan = text if lang == "en" else to_simplified(text)
    said = to_simplified(complaint + "\n" + policy_text)
    frames = {d.text for d in find_durations(scan, "en" if lang == "en" else "zh-Hans") if not d.immediate and d.text not in said}
    if len(frames) > 1:
        found.append("two_time_frames")
    if not has_policy:
        theirs = {a.value for a in find_amounts(said)}
        if any(a.value not in theirs for a in find_amounts(scan)):
            found.append("amount_without_policy")
        if frames:
            found.append("time_frame_without_policy")
    return found
