"""The customer's own words quoted back are not the agent's: find the spans to leave unchecked."""

from __future__ import annotations

import re

_QUOTED = re.compile(r"「([^」]{2,})」|『([^』]{2,})』|“([^”]{2,})”|\"([^\"]{2,})\"|‘([^’]{2,})’|'([^']{4,})'")
# words that introduce what the customer said (Simplified; the text is normalised before matching)
_REPORTING = re.compile(
    r"(您|你|客户|顾客)(刚才|刚刚|之前|先前|在信中|在留言中)?(提到|说|讲|反映|表示|问|写道|写|质疑|认为|觉得|指出|被告知)"
    r"|(you|you've|you have)\s+(said|mentioned|wrote|written|asked|told us|put it|called it|described|were told|being told)"
    r"|(as you put it|in your words|your words)",
    re.IGNORECASE,
)


def _squash(s: str) -> str:
    return re.sub(r"[\s，,。.！!？?、]", "", s).lower()


def quoted_customer_spans(norm_text: str, norm_complaint: str | None) -> list[tuple[int, int]]:
    """Spans (of the normalised text) quoting the customer: the quote appears in the complaint, or a
    reporting phrase ("您提到", "you said") introduces it."""
    complaint = _squash(norm_complaint or "")
    spans = []
    for m in _QUOTED.finditer(norm_text):
        inner = next(g for g in m.groups() if g is not None)
        # the reporting phrase may sit a few words before the quote ("you mentioned being told it was ...")
        before = re.split(r"[。！？!?.；;]", norm_text[max(0, m.start() - 40) : m.start()])[-1]
        if (complaint and _squash(inner) and _squash(inner) in complaint) or _REPORTING.search(before):
            spans.append((m.start(), m.end()))
    return spans
