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


def mask_pii(text: str) -> str:
    """Replace personal data with typed placeholders ([EMAIL], [PHONE], [ID], [CARD])."""
    text = _EMAIL.sub("[EMAIL]", text)
    text = _CN_ID.sub(lambda m: "[ID]" if _cn_id_ok(m.group(0)) else m.group(0), text)
    text = _CARD.sub(lambda m: "[CARD]" if _luhn(re.sub(r"\D", "", m.group(0))) else m.group(0), text)
    for pattern in (_CN_MOBILE, _TW_MOBILE, _HK_PHONE, _LANDLINE):
        text = pattern.sub("[PHONE]", text)
    text = _TW_ID.sub("[ID]", text)
    return _HK_ID.sub("[ID]", text)
