"""Times named in a text: clock times, dates, parts of the day, and a due time said back in words.

Shared by the commitments ledger (when a promise is due) and the drafts (restating a promised time).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from copilot.text.numbers import cn_to_number

CLOCK = {
    "zh": re.compile(
        r"(?P<day>今天|今日|今晚|明天|明日|后天)?(?P<part>早上|上午|中午|下午|傍晚|晚上)?\s?"
        r"(?P<h>\d{1,2}|[一二两三四五六七八九十]{1,3})\s?[点點:：](?P<m>半|\d{1,2}分?|[一二三四五]十分?)?"
    ),
    "en": re.compile(
        r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s?(?P<ampm>am|pm|a\.m\.|p\.m\.)(?:\s+(?P<day>today|tomorrow|tonight))?"
        r"|\bnoon\b(?:\s+(?P<day2>today|tomorrow))?",
        re.IGNORECASE,
    ),
}
_TOMORROW = {"zh": re.compile(r"明天|明日|隔天"), "en": re.compile(r"\btomorrow\b", re.IGNORECASE)}


_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_WEEKDAYS_EN = ["mon", "tues", "wednes", "thurs", "fri", "satur", "sun"]
_WEEKDAYS_ZH = "一二三四五六日"
DATE = {
    "en": re.compile(
        r"\b(?P<d1>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m1>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b"
        r"|\b(?P<m2>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?\b"
        r"|\b(?P<wd>mon|tues|wednes|thurs|fri|satur|sun)day\b",
        re.IGNORECASE,
    ),
    "zh": re.compile(r"(?P<m>\d{1,2})\s?月\s?(?P<d>\d{1,2})\s?[日号號]|(?:周|週|星期|礼拜|禮拜)(?P<wd>[一二三四五六日天])"),
}
_PART_END = {"en": [("morning", 12), ("afternoon", 18), ("evening", 21), ("tonight", 21)],
             "zh": [("上午", 12), ("早上", 12), ("中午", 14), ("下午", 18), ("傍晚", 19), ("晚上", 21)]}


def _clock(m: re.Match[str], key: str, part_before: str = "") -> tuple[int, int, str] | None:
    """(hour, minute, day word) of one clock match."""
    if key == "en":
        if m.group("h") is None:  # noon
            return 12, 0, (m.group("day2") or "").lower()
        hour, minute = int(m.group("h")), int(m.group("m") or 0)
        ampm = m.group("ampm").lower()
        hour += 12 if ampm.startswith("p") and hour < 12 else -12 if ampm.startswith("a") and hour == 12 else 0
        return hour, minute, (m.group("day") or "").lower()
    raw = m.group("h")
    value = int(raw) if raw.isdigit() else cn_to_number(raw)
    if value is None:
        return None
    hour = int(value)
    minute_raw = (m.group("m") or "").rstrip("分")
    minute = 30 if minute_raw == "半" else int(minute_raw) if minute_raw.isdigit() else int(cn_to_number(minute_raw) or 0)
    part = m.group("part") or part_before
    if (part in ("下午", "傍晚", "晚上") and hour < 12) or (part == "中午" and hour < 11):
        hour += 12
    return hour, minute, {"明天": "tomorrow", "明日": "tomorrow", "后天": "after"}.get(m.group("day") or "", "")


def due_from(text: str, language: str, at: datetime) -> datetime | None:
    """The moment a promise names, after `at`: a date ("Thursday 26 November", "12月4日", "週五"), a clock time
    ("by 5 pm", "下午五點前"; of a window, its end: "between 8 am and 1 pm"), or a part of the day."""
    key = "en" if language == "en" else "zh"
    clocks = list(CLOCK[key].finditer(text))
    date_match = DATE[key].search(text)
    clock = None
    if clocks:
        first_part = clocks[0].group("part") if key == "zh" else ""
        clock = _clock(clocks[-1], key, first_part or "")
    if clock is None and date_match is None:
        return None
    hour, minute, day = clock if clock else (18, 0, "")
    if clock is None:
        hour = next((h for word, h in _PART_END[key] if word in text.lower()), 18)
    if hour > 23 or minute > 59:
        return None
    base = at
    if date_match is not None:
        base = _date(date_match, key, at)
        if base is None:
            return None
        day = ""
    elif not day and _TOMORROW[key].search(text):
        day = "tomorrow"
    due = base.replace(hour=hour, minute=minute, second=0, microsecond=0)
    due += timedelta(days={"tomorrow": 1, "after": 2}.get(day, 0))
    if due <= at and not day and date_match is None:
        due += timedelta(days=1)  # "by 10 am" said in the afternoon means tomorrow
    return due


def _date(m: re.Match[str], key: str, at: datetime) -> datetime | None:
    weekday = m.group("wd")
    if weekday:
        target = (_WEEKDAYS_EN.index(weekday.lower()) if key == "en" else _WEEKDAYS_ZH.index(weekday.replace("天", "日")))
        ahead = (target - at.weekday()) % 7 or 7
        return at + timedelta(days=ahead)
    if key == "en":
        month = _MONTHS.index((m.group("m1") or m.group("m2")).lower()[:3]) + 1
        day = int(m.group("d1") or m.group("d2"))
    else:
        month, day = int(m.group("m")), int(m.group("d"))
    try:
        found = at.replace(month=month, day=day)
    except ValueError:
        return None
    return found if found.date() >= at.date() else found.replace(year=at.year + 1)


def describe_due(due: datetime, now: datetime, language: str) -> str:
    """A due time restated for `now`, in words that read back to the same time ("by 5 pm today")."""
    days = (due.date() - now.date()).days
    if language == "en":
        clock = due.strftime("%I:%M %p").lstrip("0").replace(":00", "").lower().replace("12 pm", "noon")
        day = "today" if days == 0 else "tomorrow" if days == 1 else due.strftime("on %d %B").replace(" 0", " ")
        return f"by {clock} {day}" if clock != "noon" else f"by noon {day}"
    part = "上午" if due.hour < 12 else "中午" if due.hour == 12 else "下午" if due.hour < 18 else "晚上"
    hour = due.hour if due.hour <= 12 else due.hour - 12
    point = "點" if language == "zh-Hant" else "点"
    clock = f"{part}{hour}{point}" + (f"{due.minute}分" if due.minute else "")
    day = {0: "今天", 1: "明天"}.get(days) or f"{due.month}月{due.day}日"
    return f"{day}{clock}前"
