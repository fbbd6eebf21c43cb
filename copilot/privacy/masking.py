"""Masking of personal data in free text: phone numbers (mainland, Taiwan, Hong Kong), ID numbers
(mainland 18-digit with checksum, Taiwan, Hong Kong), bank cards (Luhn), e-mail addresses."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CN_ID = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){15,18}\d(?!\d)")
_CN_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)")
_TW_MOBILE = re.compile(r"(?<!\d)(?:\+?886[ -]?|0)9\d{2}[ -]?\d{3}[ -]?\d{3}(?!\d)")
_HK_PHONE = re.compile(r"(?<!\d)(?:\+?852[ -]?)?[569]\d{3}[ -]?\d{4}(?!\d)")
_NANP = re.compile(r"(?<!\d)(?:\+?1[ -.]?)?\(?\d{3}\)?[ -.]\d{3}[ -.]\d{4}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(?:\(?0\d{1,3}\)?[ -]?)\d{7,8}(?!\d)")
_TW_ID = re.compile(r"(?<![A-Za-z])[A-Z][12]\d{8}(?!\d)")
_HK_ID = re.compile(r"(?<![A-Za-z])[A-Z]{1,2}\d{6}\s?\([0-9A]\)")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def _cn_id_ok(value: str) -> bool:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    checks = "10X98765432"
    try:
        total = sum(int(value[i]) * weights[i] for i in range(17))
    except ValueError:
        return False
    return checks[total % 11] == value[17].upper()


_ADDRESS = re.compile(
    r"[\u4e00-\u9fff]{2,6}[省市縣县區区][\u4e00-\u9fff]{1,8}[路街道巷弄][\u4e00-\u9fff\d-]{0,8}[號号](?:[\u4e00-\u9fff\d-]{0,6}[樓楼室])?"
    r"|\b\d{1,5} [A-Z][a-z]+(?: [A-Z][a-z]+)* (?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd)\b\.?"
)

# (kind, pattern, validator): applied in this order, so an ID number is not mistaken for a phone number
_KINDS = [
    ("EMAIL", _EMAIL, None),
    ("ID", _CN_ID, _cn_id_ok),
    ("CARD", _CARD, lambda v: _luhn(re.sub(r"\D", "", v))),
    ("PHONE", _CN_MOBILE, None),
    ("PHONE", _TW_MOBILE, None),
    ("PHONE", _HK_PHONE, None),
    ("PHONE", _NANP, None),
    ("PHONE", _LANDLINE, None),
    ("ID", _TW_ID, None),
    ("ID", _HK_ID, None),
    ("ADDRESS", _ADDRESS, None),
]


def mask_with_map(text: str) -> tuple[str, dict[str, str]]:
    """Replace personal data with numbered placeholders ([PHONE_1], [ID_2] ...); the map restores them."""
    mapping: dict[str, str] = {}
    counters: dict[str, int] = {}

    def substitute(kind: str, validator):
        def repl(m: re.Match[str]) -> str:
            value = m.group(0)
            if validator is not None and not validator(value):
                return value
            existing = next((k for k, v in mapping.items() if v == value), None)
            if existing:
                return existing
            counters[kind] = counters.get(kind, 0) + 1
            key = f"[{kind}_{counters[kind]}]"
            mapping[key] = value
            return key

        return repl

    for kind, pattern, validator in _KINDS:
        text = pattern.sub(substitute(kind, validator), text)
    return text, mapping


def restore(text: str, mapping: dict[str, str]) -> str:
    for key, value in mapping.items():
        text = text.replace(key, value)
    return text


def mask_pii(text: str) -> str:
    """Replace personal data with typed placeholders ([EMAIL], [PHONE], [ID], [CARD], [ADDRESS])."""
    masked, _ = mask_with_map(text)
    return re.sub(r"\[([A-Z]+)_\d+\]", r"[\1]", masked)
