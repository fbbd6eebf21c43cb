"""The shipped knowledge base: complete, well-formed, structured, and in our own words."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from copilot.knowledge.documents import parse_front_matter
from copilot.knowledge.loader import load_folder
from copilot.knowledge.policies import LEVELS, load_policies
from copilot.settings import PROJECT_ROOT
from tests.conftest import DATA, SEEDS

KB = PROJECT_ROOT / "knowledge"
REQUIRED = {"id", "title", "kind", "domain", "language", "tags"}


def _front_matters(folder: str) -> list[dict]:
    return [parse_front_matter(p.read_text(encoding="utf-8"), str(p))[0] for p in sorted((KB / folder).glob("*.md"))]


def test_every_document_has_the_required_front_matter():
    report = load_folder(KB)
    assert not report.skipped, report.skipped
    for folder in ("guidance", "policies", "phrasebook"):
        for meta in _front_matters(folder):
            assert set(meta) >= REQUIRED, (folder, meta.get("id"), REQUIRED - set(meta))
            assert meta["language"] in {"zh-Hant", "zh-Hans", "en"}
            assert meta["kind"] in {"guidance", "policy", "phrase"}


def test_guidance_covers_every_method_in_traditional_chinese_and_english():
    by_article: dict[str, set[str]] = defaultdict(set)
    for meta in _front_matters("guidance"):
        by_article[meta["article"]].add(meta["language"])
    assert len(by_article) >= 12
    assert all(langs == {"zh-Hant", "en"} for langs in by_article.values()), by_article
    for topic in (
        "four-needs", "difficult-complaints", "letting-customers-vent", "empathy", "attitude", "fast-response",
        "surprise-compensation", "angry-customer-types", "five-step-process", "common-mistakes",
        "escalated-complaints", "three-principles", "hedgehog-snake-fox", "lowering-expectations",
    ):
        assert topic in by_article, topic


def test_policies_are_structured_for_four_domains():
    book = load_policies(KB / "policies")
    assert {"telecom", "ecommerce", "banking", "travel"} <= set(book.domains)
    for category in book.categories():
        limits = category.compensation.limits
        assert [limits[level] for level in LEVELS] == sorted(limits[level] for level in LEVELS)
        assert category.time_frames, category.key
        assert {"zh-Hant", "zh-Hans", "en"} <= set(category.remedy)
        for item in category.cannot_grant:
            assert item.reason["en"] and item.alternative["en"]
            assert "policy" not in item.reason["en"].lower(), "a reason a customer can understand, not 'policy'"


def test_seven_day_returns_cite_the_consumer_law_article_that_exists():
    book = load_policies(KB / "policies")
    returns = book.category("ecommerce/return_refund")
    cited = {(b.law, b.article) for b in returns.legal_basis}
    assert ("中华人民共和国消费者权益保护法", "第二十五条") in cited
    law_dir = DATA / "cn-consumer-law"
    if not law_dir.exists():
        pytest.skip(f"{law_dir} is absent: cannot verify the cited articles against the statutes")
    statutes = {p.name: p.read_text(encoding="utf-8") for p in law_dir.glob("*.txt")}
    for category in book.categories():
        for basis in category.legal_basis:
            short = basis.law.removeprefix("中华人民共和国")
            texts = [t for name, t in statutes.items() if short in name or short in t[:300]]
            assert texts, f"{category.key}: {basis.law} is not among the statutes in {law_dir}"
            assert any(re.search(rf"^\s*{basis.article}", t, re.MULTILINE) for t in texts), (category.key, basis.law, basis.article)


def test_phrasebook_has_every_move_in_three_languages():
    moves = {"acknowledge", "apologise", "thank", "own", "next_step", "follow_up", "lower_expectations",
             "offer_compensation", "request_approval", "escalate"}
    for meta in _front_matters("phrasebook"):
        assert moves <= set(meta["moves"]), meta["id"]
        for move in moves:
            assert len(meta["moves"][move]) >= 5, (meta["id"], move)


def test_knowledge_base_is_written_in_our_own_words():
    """No run of 18 Chinese characters may repeat a seed article (pinyin injections ignored)."""
    if not SEEDS.exists():
        pytest.skip(f"{SEEDS} is absent")
    from opencc import OpenCC

    to_s = OpenCC("t2s")

    def cjk(text: str) -> str:
        text = re.sub(r"\([a-zǜ-ͯāáǎàēéěèīíǐìōóǒòūúǔù]+\)", "", text)
        return to_s.convert("".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff"))

    run = 18
    shingles = set()
    for seed in SEEDS.glob("*.txt"):
        s = cjk(seed.read_text(encoding="utf-8", errors="ignore"))
        shingles.update(s[i : i + run] for i in range(len(s) - run + 1))
    copied = {}
    for path in KB.rglob("*"):
        if path.suffix in {".md", ".yaml", ".jsonl"}:
            s = cjk(path.read_text(encoding="utf-8"))
            hits = [s[i : i + run] for i in range(len(s) - run + 1) if s[i : i + run] in shingles]
            if hits:
                copied[str(path)] = hits[:3]
    assert not copied
