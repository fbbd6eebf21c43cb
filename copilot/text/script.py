"""Traditional <-> Simplified conversion through OpenCC (one converter per direction, built once)."""

from __future__ import annotations

from functools import lru_cache

import opencc


@lru_cache(maxsize=8)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """Traditional (any region) to Simplified: the normal form for matching and indexing."""
    return _converter("t2s").convert(text)


def to_traditional(text: str) -> str:
    """Simplified to Traditional with Taiwan phrasing (訊息, 軟體 ...). OpenCC keeps 賬 (帳單 in Taiwan)."""
    return _converter("s2twp").convert(text).replace("賬", "帳")


def convert_script(text: str, target: str) -> str:
    """Convert Chinese text to the script of `target` ("zh-Hant" or "zh-Hans"); other text unchanged."""
    if target == "zh-Hant":
        return to_traditional(text)
    if target == "zh-Hans":
        return _converter("tw2sp").convert(text)
    return text
