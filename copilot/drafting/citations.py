"""Which retrieved passages each draft relies on, and the searches that fetch them."""

from __future__ import annotations

from copilot.drafting.models import Citation, DraftKind
from copilot.retrieval.models import Passage

# What each draft is about, as a search for the guidance behind it (in the reply's language).
GUIDANCE_QUERIES: dict[DraftKind, dict[str, str]] = {
    "empathetic_reply": {
        "zh-Hant": "先處理情緒再處理事情：同理、道歉、負責、給出下一步和時限",
        "zh-Hans": "先处理情绪再处理事情：同理、道歉、负责、给出下一步和时限",
        "en": "empathy first: acknowledge the feeling, apologise, own it, give a next step with a time frame",
    },
    "expectation_lowering": {
        "zh-Hant": "做不到的要求如何降低期望：說明真正原因並提供替代方案",
        "zh-Hans": "做不到的要求如何降低期望：说明真正原因并提供替代方案",
        "en": "lowering expectations when a request cannot be met: real reason and an alternative",
    },
    "compensation": {
        "zh-Hant": "補償的說明與授權：權限內的補償、超出權限時向主管申請",
        "zh-Hans": "补偿的说明与授权：权限内的补偿、超出权限时向主管申请",
        "en": "compensation within authority, surprise gesture, asking approval above your limit",
    },
}


def unique(passages: list[Passage]) -> list[Passage]:
    """Each passage once, in order."""
    seen: set[str] = set()
    out = []
    for p in passages:
        if p.chunk_id not in seen:
            seen.add(p.chunk_id)
            out.append(p)
    return out


def cite(passages: list[Passage]) -> list[Citation]:
    return [Citation(doc_id=p.doc_id, chunk_id=p.chunk_id, title=p.title, section=p.section) for p in unique(passages)]
