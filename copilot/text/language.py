"""Which language and Chinese script a text is written in."""

from __future__ import annotations

import re
from typing import Literal, get_args

from copilot.text.script import _converter

Language = Literal["zh-Hant", "zh-Hans", "en", "other"]
# the languages the copilot writes in; the map turns a name read from data or a request into its literal type
ReplyLanguage = Literal["zh-Hant", "zh-Hans", "en"]
REPLY_LANGUAGES: dict[str, ReplyLanguage] = {lang: lang for lang in get_args(ReplyLanguage)}

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_OTHER_SCRIPT = re.compile(
    r"[\u0400-\u04ff\u0600-\u06ff\u0900-\u097f\u0e00-\u0e7f\u3040-\u30ff\uac00-\ud7af\u0590-\u05ff]"
)


def is_chinese(language: str) -> bool:
    return language in ("zh-Hant", "zh-Hans")


def detect_language(text: str) -> Language:
    """Classify a text as zh-Hant, zh-Hans, en or other.

    Chinese wins when CJK characters make up a real share of the letters; the script is the direction in
    which OpenCC changes more characters (t2s changes Traditional text, s2t changes Simplified text).
    """
    sample = text[:4000]
    cjk = _CJK.findall(sample)
    latin_letters = sum(len(w) for w in _LATIN_WORD.findall(sample))
    other = len(_OTHER_SCRIPT.findall(sample))
    # kana or hangul next to kanji/hanja means Japanese or Korean, not Chinese
    if other and other >= len(cjk) * 0.2:
        return "other"
    if cjk and len(cjk) * 2 >= latin_letters * 0.25:
        han = "".join(cjk)
        to_s = sum(a != b for a, b in zip(han, _converter("t2s").convert(han), strict=False))
        to_t = sum(a != b for a, b in zip(han, _converter("s2t").convert(han), strict=False))
        return "zh-Hant" if to_s > to_t else "zh-Hans"
    if latin_letters >= 2 and not other:
        return "en" if _looks_english(sample) else "other"
    return "other"


_EN_COMMON = re.compile(
    r"\b(the|and|to|of|is|my|i|you|it|for|was|not|have|this|that|in|on|with|your|me|please|we|are|be)\b",
    re.IGNORECASE,
)


# function words of other Latin-script languages (Spanish, Portuguese, French, Italian, German, Dutch...)
_OTHER_COMMON = re.compile(
    r"\b(el|la|los|las|del|que|y|es|est|esta|está|por|para|una|uno|mi|pedido|pero|muy|nadie|não|nao|com|"
    r"le|les|des|une|et|je|mon|ma|pas|est|il|della|che|und|der|die|das|ist|nicht|ich|mein|ein|eine|het|een|"
    r"niet|ik|de|en|van)\b",
    re.IGNORECASE,
)


def _looks_english(text: str) -> bool:
    words = _LATIN_WORD.findall(text)
    if len(words) <= 3:
        return True
    common = len(_EN_COMMON.findall(text))
    other = len(_OTHER_COMMON.findall(text)) + 2 * len(re.findall(r"[áéíóúñãõçàèìòùâêîôûäöüß]", text, re.IGNORECASE))
    return common / max(len(words), 1) >= 0.08 and common > other


def script_is_ambiguous(text: str) -> bool:
    """True when no character of the text differs between Traditional and Simplified ("退款呢？")."""
    han = "".join(_CJK.findall(text))
    return bool(han) and _converter("t2s").convert(han) == han and _converter("s2t").convert(han) == han
