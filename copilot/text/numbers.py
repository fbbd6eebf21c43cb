"""Numbers, money and durations in Chinese and English text (for policy checks and fact extraction)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000, "萬": 10000}
CN_NUMBER = r"[零〇一二两兩三四五六七八九十百千万萬]+"
_EN_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "hundred": 100, "a": 1, "an": 1, "a couple of": 2, "a few": 3, "several": 3,
}
EN_NUMBER = r"\d+(?:\.\d+)?|" + "|".join(sorted((re.escape(w) for w in _EN_WORDS), key=len, reverse=True))


def cn_to_number(text: str) -> float | None:
    """'三十五' -> 35, '两百' -> 200, '一万五千' -> 15000; None if it is not a numeral."""
    if not text or any(c not in _DIGITS and c not in _UNITS for c in text):
        return None
    total, section, digit = 0, 0, None
    for char in text:
        if char in _DIGITS:
            digit = _DIGITS[char]
        else:
            unit = _UNITS[char]
            if unit == 10000:
                section = (section + (digit or 0)) * unit
                total += section
                section = 0
            else:
                section += (digit if digit is not None else 1) * unit
            digit = None
    return float(total + section + (digit or 0))


def to_number(text: str) -> float | None:
    text = text.strip().lower().replace(",", "")
    try:
        return float(text)
    except ValueError:
        pass
    if text in _EN_WORDS:
        return float(_EN_WORDS[text])
    return cn_to_number(text)


@dataclass(frozen=True)
class Amount:
    value: float
    start: int
    end: int


_AMOUNT = re.compile(
    r"(?:¥|￥|RMB\s?|CNY\s?|rmb\s?|人民币|人民幣)\s?(?P<a>\d[\d,]*(?:\.\d+)?)"
    rf"|(?P<b>\d[\d,]*(?:\.\d+)?|{CN_NUMBER})\s?(?:元|块钱|块|塊錢|塊|圆|rmb|RMB|yuan|CNY|人民币|人民幣)"
    r"|(?:US\$|HK\$|NT\$|\$)\s?(?P<c>\d[\d,]*(?:\.\d+)?)"
    r"|(?P<d>\d[\d,]*(?:\.\d+)?)\s?(?:dollars?|bucks)",
    re.IGNORECASE,
)


def find_amounts(text: str) -> list[Amount]:
    out = []
    for m in _AMOUNT.finditer(text):
        raw = next(g for g in (m.group("a"), m.group("b"), m.group("c"), m.group("d")) if g)
        value = to_number(raw)
        if value is not None:
            out.append(Amount(value, m.start(), m.end()))
    return out


@dataclass(frozen=True)
class Duration:
    hours: float
    start: int
    end: int
    text: str
    immediate: bool = False  # "right away", "马上": often when work starts rather than when it is done


_NUM = rf"(?P<n>\d+(?:\.\d+)?|{CN_NUMBER}|半)"
_DURATION_ZH = re.compile(
    r"(?P<now>马上|馬上|立刻|立即|即刻|现在就|現在就|一小时内|一小時內)|"
    rf"{_NUM}\s?(?:个|個)?\s?(?P<u>小时|小時|钟头|鐘頭|分钟|分鐘|工作日|工作天|个工作日|個工作天|天|日|周|週|星期|钟(?!前)|鐘(?!前))"
    r"|(?P<today>今天|今日|今晚|当天|當天|稍后|稍後|下班前|今天下午|今天上午|(?:下午|上午|晚上|中午)?[一二三四五六七八九十\d]+[点點](?:钟|鐘)?(?:以)?前)"
    r"|(?P<tomorrow>明天|明日|隔天|听日|聽日)|(?P<after>后天|後天)"
)
_DURATION_EN = re.compile(
    rf"(?P<n>{EN_NUMBER})[\s-]+(?:(?P<biz>business|working)\s+)?(?P<u>hours?|hrs?|minutes?|mins?|days?|weeks?)"
    r"|(?P<now>right away|straight away|immediately|right now|within the hour|in the next hour|within an hour)"
    r"|(?P<today>today|tonight|same[- ]day|"
    r"end of (?:the )?day|this (?:afternoon|morning|evening)|by \d{1,2}(?::\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.))"
    r"|(?P<tomorrow>tomorrow)",
    re.IGNORECASE,
)
_UNIT_HOURS = {
    "小时": 1, "小時": 1, "钟头": 1, "鐘頭": 1, "分钟": 1 / 60, "分鐘": 1 / 60, "天": 24, "日": 24,
    "工作日": 24, "工作天": 24, "个工作日": 24, "個工作天": 24, "周": 168, "週": 168, "星期": 168, "钟": 1, "鐘": 1,
}


def find_durations(text: str, language: str) -> list[Duration]:
    """Time commitments as hours from now: '3天內' -> 72, 'today' -> 8, 'within 2 business days' -> 48."""
    out = []
    pattern = _DURATION_EN if language == "en" else _DURATION_ZH
    for m in pattern.finditer(text):
        hours: float | None
        if m.group("now"):
            hours = 1.0
        elif m.group("today"):
            hours = 8.0
        elif m.group("tomorrow"):
            hours = 24.0
        elif language != "en" and m.group("after"):
            hours = 48.0
        else:
            raw = m.group("n")
            n = 0.5 if raw == "半" else to_number(raw)
            unit = m.group("u").lower()
            if n is None:
                continue
            if language == "en":
                per = 1 / 60 if unit.startswith("min") else 1 if unit.startswith("h") else 168 if unit.startswith("w") else 24
            else:
                per = _UNIT_HOURS.get(unit, 24)
            hours = n * per
        out.append(Duration(hours, m.start(), m.end(), m.group(0), immediate=bool(m.group("now"))))
    return out
