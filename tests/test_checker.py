"""The "no excuses, no blame" checker: rules as data, hard cases in three scripts, policy limits, fixes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from copilot.checking import CheckContext, CheckError, RuleFileError, load_rules
from copilot.checking.quality import evaluate, load_replies
from copilot.knowledge.phrasebook import slots_of
from copilot.service import Copilot
from copilot.settings import PROJECT_ROOT
from tests.conftest import DATA

RULES = PROJECT_ROOT / "knowledge" / "rules"
EVALS = PROJECT_ROOT / "evals" / "checker"


@pytest.fixture(scope="module")
def copilot() -> Copilot:
    return Copilot()


@pytest.fixture(scope="module")
def rules_only() -> Copilot:
    from copilot.settings import Settings

    return Copilot(Settings(learned_checks=False))


def categories(result) -> set[str]:
    return {v.category for v in result.violations}


# ---------------------------------------------------------------- the catalogue


def test_every_rule_catches_its_examples_and_spares_its_counter_examples(rules_only):
    copilot = rules_only
    rules = copilot.checker.catalogue.rules
    assert {r.category for r in rules} >= {
        "blame_department", "blame_partner", "blame_customer", "excuse", "policy_hiding",
        "lecturing", "jargon", "arguing_minimising", "overpromise",
    }
    for rule in rules:
        for text in rule.examples.match:
            found = categories(copilot.check(text))
            assert rule.category in found, f"{rule.id} misses its example {text!r}"
        for text in rule.examples.no_match:
            assert rule.category not in categories(copilot.check(text)), f"{rule.id} flags its counter-example {text!r}"


def _copy_rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    for f in RULES.glob("*.yaml"):
        (folder / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (lambda s: s.replace("rules:\n", "rules:\n  - id: [broken\n", 1), r"blame\.yaml:\d+: not valid YAML"),
        (lambda s: s.replace("category: blame_partner", "category: blame_weather", 1), r"blame\.yaml:\d+: entry 'blame_partner\.named_fault': category"),
        (lambda s: s.replace("'(?P<hit>(问题|责任)(出)?在<<PARTNER>>)'", "'(?P<hit>(unclosed'", 1), r"blame\.yaml:\d+: rule 'blame_partner\.named_fault': bad zh pattern"),
        (lambda s: s.replace("<<PARTNER>>", "<<PARTNERS>>", 1), r"blame\.yaml:\d+: rule 'blame_partner\.named_fault': unknown term <<PARTNERS>>"),
    ],
)
def test_a_malformed_rule_file_fails_at_load_naming_file_line_and_problem(tmp_path, mutation, message):
    folder = _copy_rules(tmp_path)
    path = folder / "blame.yaml"
    path.write_text(mutation(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(RuleFileError, match=message):
        load_rules(folder)


# ---------------------------------------------------------------- what defeats keyword lists

HARD_CASES = [
    # (text, language, categories expected; empty = compliant)
    ("這不是您的錯，我現在就幫您處理。", "zh-Hant", set()),
    ("这不是您的错，我现在就帮您处理。", "zh-Hans", set()),
    ("This is not your fault, and I'm sorting it out now.", "en", set()),
    ("這不是我們的問題，請您自己再確認。", "zh-Hant", {"arguing_minimising"}),
    ("这不是我们的问题。", "zh-Hans", {"arguing_minimising"}),
    ("That isn't our fault.", "en", {"arguing_minimising"}),
    ("包裹在運送途中被延誤，這不在我們控制範圍。", "zh-Hant", {"excuse"}),
    ("包裹在运输途中被延误，这不在我们的控制范围内。", "zh-Hans", {"excuse"}),
    ("The delay was beyond our control.", "en", {"excuse"}),
    ("Your payment was declined by your bank.", "en", {"blame_partner"}),
    ("我已請帳務部門今天下午三點前回電給您。", "zh-Hant", set()),
    ("我已请账务部门今天下午三点前回电给您。", "zh-Hans", set()),
    ("I've asked our billing team to call you back by 3pm today.", "en", set()),
    ("下次記得先確認喔～", "zh-Hant", {"lecturing"}),
    ("下次记得先确认哦～", "zh-Hans", {"lecturing"}),
    ("Just a friendly reminder to always check the size chart.", "en", {"lecturing"}),
    ("因為最近是購物節，訂單量比較大，所以出貨比較慢，還請見諒。", "zh-Hant", {"excuse"}),
    ("由于近期订单量激增，发货会有所延迟，敬请谅解。", "zh-Hans", {"excuse"}),
    ("Due to unprecedented demand, orders are taking longer than usual.", "en", {"excuse"}),
]


@pytest.mark.parametrize(("text", "language", "expected"), HARD_CASES)
def test_hard_cases_in_three_scripts(copilot, text, language, expected):
    result = copilot.check(text)
    assert result.language == language
    assert categories(result) == expected, [(v.rule_id, v.text) for v in result.violations]


@pytest.mark.parametrize(
    ("complaint", "reply", "language"),
    [
        ("你們客服都是騙子！", "您提到「你們客服都是騙子」，讓您有這種感受，我真的很抱歉。", "zh-Hant"),
        ("快递公司弄丢的东西你们不管吗", "您说“快递公司弄丢的东西你们不管吗”，我们管，我现在就帮您追查。", "zh-Hans"),
        ("Your courier lost it again!", 'You said "your courier lost it again", and I\'m sorry: that is ours to fix.', "en"),
    ],
)
def test_the_customers_own_words_quoted_back_are_not_the_agents(copilot, complaint, reply, language):
    assert copilot.check(reply, context=CheckContext(complaint=complaint)).violations == []
    unquoted = reply.replace("「", "").replace("」", "").replace("“", "").replace("”", "").replace('"', "")
    assert copilot.check(unquoted).language == language


def test_spans_are_exact_and_results_explain_and_suggest(copilot):
    text = "Please calm down, it's only a small delay. The warehouse messed up your order."
    result = copilot.check(text)
    assert result.verdict == "reject"
    for v in result.violations:
        assert text[v.start : v.end] == v.text
        assert v.explanation and v.suggestion and v.name and v.rule_id.startswith(v.category)
    assert {"arguing_minimising", "blame_department"} <= categories(result)


def test_explanations_follow_the_script_of_the_text(copilot):
    hant = copilot.check("這是倉庫那邊出的錯。").violations[0]
    hans = copilot.check("这是仓库那边出的错。").violations[0]
    assert "倉庫" in hant.explanation and "仓库" in hans.explanation


def test_required_moves_are_reported(copilot):
    good = (
        "I'm so sorry your parcel is late, I know how frustrating that is. Thank you for telling us. "
        "I'll chase the courier myself and call you back by 5pm today with an update."
    )
    result = copilot.check(good)
    assert result.verdict == "ok"
    assert result.moves_missing == []
    bare = copilot.check("Your order number is 12345.")
    assert set(bare.moves_missing) == {"acknowledge", "apologise", "thank", "own", "next_step", "follow_up"}


# ---------------------------------------------------------------- policy limits


def test_compensation_above_the_agents_limit_is_flagged_with_the_limit(copilot):
    result = copilot.check("為了表達歉意，我直接給您 100 元購物金補償。", context=CheckContext(policy="ecommerce/late_delivery"))
    (v,) = result.violations
    assert v.rule_id == "overpromise.policy_amount" and v.text == "100 元"
    assert "20" in v.limit and "agent" in v.limit
    assert "supervisor" in v.explanation or "manager" in v.explanation or "主管" in v.explanation or "經理" in v.explanation


def test_the_limit_depends_on_the_level_and_asking_for_approval_is_fine(copilot):
    offer = "I'm adding a CNY 40 voucher to your account as an apology."
    assert copilot.check(offer, context=CheckContext(level="agent", policy="ecommerce/late_delivery")).violations
    assert not copilot.check(offer, context=CheckContext(level="supervisor", policy="ecommerce/late_delivery")).violations
    ask = "I'll ask my supervisor today to approve a CNY 40 voucher for you."
    assert not copilot.check(ask, context=CheckContext(level="agent", policy="ecommerce/late_delivery")).violations
    within = "我先给您一张 20 元优惠券作为补偿。"
    assert not copilot.check(within, context=CheckContext(policy="ecommerce/late_delivery")).violations


def test_deadlines_faster_than_the_policy_are_flagged(copilot):
    fast = copilot.check("退款今天就會到帳。", context=CheckContext(policy="ecommerce/return_refund"))
    assert [v.rule_id for v in fast.violations] == ["overpromise.policy_deadline"]
    assert "7" in fast.violations[0].limit
    assert not copilot.check("退款會在 7 天內退回到您的原付款方式。", context=CheckContext(policy="ecommerce/return_refund")).violations
    assert not copilot.check("I'll start looking into it right away.", context=CheckContext(policy="ecommerce/return_refund")).violations


def test_absolute_guarantees_are_flagged_without_a_policy(copilot):
    for text in ("保證以後絕對不會再發生！", "保证以后绝对不会再发生！", "I guarantee this will never happen again."):
        assert categories(copilot.check(text)) == {"overpromise"}, text


def test_an_unknown_policy_is_a_notice_not_a_crash(copilot):
    result = copilot.check("I'll refund you today.", context=CheckContext(policy="ecommerce/no_such_thing"))
    assert any("unknown policy" in n for n in result.notices)


# ---------------------------------------------------------------- bad input


def test_bad_input_gets_clear_errors(copilot):
    with pytest.raises(CheckError, match="empty"):
        copilot.check("   \n\t")
    with pytest.raises(CheckError, match="1,000,000 characters"):
        copilot.check("快" * 1_000_000)


@pytest.mark.parametrize(
    "text",
    [
        "您好😀，這是倉庫那邊出的錯🙏，請您冷靜一點！！",
        "<p>Please <b>calm down</b>, the courier lost it.</p>",
        "您的ticket已經escalate到L2了，SLA是72小時。",
        "請您\x00冷靜\x07一點\u200b，這是我們的\r\n問題",
        "Ｐｌｅａｓｅ calm down 您好 ،مرحبا",
    ],
)
def test_odd_text_gives_exact_spans_and_no_crash(copilot, text):
    result = copilot.check(text)
    for v in result.violations:
        assert text[v.start : v.end] == v.text
    assert result.violations, "each of these texts carries a violation"


# ---------------------------------------------------------------- fix


def test_the_deterministic_fix_makes_every_violating_reply_clean(copilot):
    items = [i for i in load_replies(EVALS / "replies.jsonl") if i.labels]
    assert len(items) > 250
    dirty = []
    for item in items:
        fixed = copilot.fix(item.reply, item.lang, context=CheckContext(complaint=item.complaint, level=item.level, policy=item.policy))
        if fixed.check.violations or not fixed.text.strip():
            dirty.append((item.id, fixed.text, [v.rule_id for v in fixed.check.violations]))
        assert fixed.check.language == item.lang
    assert dirty == []


def test_a_fix_keeps_what_was_fine(copilot):
    fixed = copilot.fix("真的很抱歉，這是倉庫那邊出的錯。我現在幫您安排換貨，明天寄出。")
    assert fixed.text.startswith("真的很抱歉")
    assert "我現在幫您安排換貨，明天寄出。" in fixed.text
    assert "倉庫" not in fixed.text and fixed.check.verdict == "ok"


# ---------------------------------------------------------------- our own content must come out clean

SAMPLE_SLOTS = {
    "zh-Hant": dict(issue="包裹延遲送達", deadline="明天中午前", action="幫您追查包裹", remedy="一張 20 元購物金",
                    amount="20 元", approver="主管", reason="包裹已經在運送途中", alternative="改為全額退款"),
    "zh-Hans": dict(issue="包裹延迟送达", deadline="明天中午前", action="帮您追查包裹", remedy="一张 20 元购物金",
                    amount="20 元", approver="主管", reason="包裹已经在运送途中", alternative="改为全额退款"),
    "en": dict(issue="your parcel arriving late", deadline="by noon tomorrow", action="trace the parcel",
               remedy="a CNY 20 voucher", amount="CNY 20", approver="my supervisor",
               reason="the parcel is already on its way", alternative="a full refund instead"),
}


@pytest.mark.parametrize("learned", [False, True])
def test_the_phrasebook_comes_out_clean(learned):
    from copilot.settings import Settings

    copilot = Copilot(Settings(learned_checks=learned))
    checked = 0
    for lang, moves in copilot.phrasebook.moves.items():
        for move, phrases in moves.items():
            for phrase in phrases:
                text = phrase.format(**{k: SAMPLE_SLOTS[lang][k] for k in slots_of(phrase)})
                result = copilot.check(text, lang)
                assert not result.violations, (lang, move, text, [(v.rule_id, v.text) for v in result.violations])
                checked += 1
    assert checked >= 300


# ---------------------------------------------------------------- measured quality


def _assert_quality(quality, floor: float, exceptions: dict[str, float] | None = None) -> None:
    table = quality.table()
    floors = {k: (exceptions or {}).get(k, floor) for k in table}
    failing = {k: v for k, v in table.items() if k != "spans" and (v["precision"] < floors[k] or v["recall"] < floors[k])}
    assert not failing, failing


def test_quality_on_the_development_set():
    """Per-category, per-language and overall precision and recall >= 0.9 on the development set, except
    excuse precision (measured 0.88): this set's annotator does not label a helpless tail after a blamed
    partner ("...it's the courier's fault, there's nothing we can do") as its own excuse; the three later
    annotators do, and the checker follows them."""
    items = load_replies(EVALS / "replies.jsonl")
    assert len(items) >= 300 and {i.lang for i in items} == {"zh-Hant", "zh-Hans", "en"}
    for lang in ("zh-Hant", "zh-Hans", "en"):
        assert sum(i.lang == lang for i in items) >= 100
    _assert_quality(evaluate(Copilot().checker, items), 0.9, {"excuse": 0.85})


def test_quality_on_the_second_development_set():
    """`heldout.jsonl` was held out until its first measurement (rules then: 0.90 precision, 0.49
    recall), then used to broaden the rules. Its second annotator labels a few cases differently from
    the first (a helpless tail after a blamed partner is its own excuse there), so only the overall
    figures are held to 0.9 here."""
    quality = evaluate(Copilot().checker, load_replies(EVALS / "heldout.jsonl"))
    assert quality.overall.precision >= 0.9 and quality.overall.recall >= 0.9


@pytest.mark.parametrize(("learned", "precision", "recall"), [(False, 0.9, 0.6), (True, 0.9, 0.76)])
def test_quality_on_the_older_unseen_test_set(learned, precision, recall):
    """`test.jsonl` was written by someone who saw neither the rules nor the other sets, and is never
    inspected case by case. Measured before issue 13: rules 0.93 precision / 0.61 recall; now rules 0.94 /
    0.64 and with the learned layer (the default) 0.94 / 0.79. These floors catch a regression."""
    from copilot.settings import Settings

    copilot = Copilot(Settings(learned_checks=learned))
    quality = evaluate(copilot.checker, load_replies(EVALS / "test.jsonl"))
    assert quality.overall.precision >= precision
    assert quality.overall.recall >= recall


def test_quality_on_the_realistic_test_set():
    """`test_realistic.jsonl`: 390 helpdesk replies in 27 industries (47% compliant), written after the
    code by an annotator who saw neither the rules nor any other set; only its totals are looked at.
    Measured: 0.82 precision / 0.63 recall, 7.7% of compliant replies flagged (before issue 13: 0.80 / 0.37,
    7.1%); after the second round (twelve more annotators' replies, Cantonese read as Mandarin, out-of-fold
    calibration) 0.87 / 0.63, 4.9%. Below the issue's targets; these floors catch a regression."""
    copilot = Copilot()
    items = load_replies(EVALS / "test_realistic.jsonl")
    assert len(items) >= 360 and {i.lang for i in items} == {"zh-Hant", "zh-Hans", "en"}
    quality = evaluate(copilot.checker, items)
    assert quality.overall.precision >= 0.84 and quality.overall.recall >= 0.6
    compliant = [i for i in items if not i.labels]
    assert sum(bool(copilot.check(i.reply, i.lang).violations) for i in compliant) / len(compliant) <= 0.06


def test_quality_on_the_second_realistic_test_set():
    """`test_realistic2.jsonl`: 390 helpdesk replies in 29 industries (49% compliant), written after the final
    code of this round by another annotator who saw neither the rules nor any other set; totals only: 0.84
    precision / 0.69 recall, 7.8% of compliant replies flagged, then 0.84 / 0.71 / 8.3% after the composer's own
    sentences joined the compliant training data (before issue 13: 0.83 / 0.47, 6.2%); after the second round
    0.91 / 0.76, 3.6%. Short of the issue's recall and 3% targets; these floors catch a regression."""
    copilot = Copilot()
    items = load_replies(EVALS / "test_realistic2.jsonl")
    quality = evaluate(copilot.checker, items)
    assert quality.overall.precision >= 0.88 and quality.overall.recall >= 0.72
    compliant = [i for i in items if not i.labels]
    assert sum(bool(copilot.check(i.reply, i.lang).violations) for i in compliant) / len(compliant) <= 0.05


@pytest.mark.parametrize(
    ("name", "precision", "recall", "flagged"),
    [("test_realistic3.jsonl", 0.87, 0.58, 0.04), ("test_realistic4.jsonl", 0.92, 0.57, 0.04)],
)
def test_quality_on_the_test_sets_of_the_second_round(name, precision, recall, flagged):
    """Two sets of 390 helpdesk replies (33 and 26 industries, 46-48% compliant, 130 per language), written after
    the second round's code by two more annotators who saw neither the rules, the code nor any other set;
    measured once, totals only. test 3: 0.90 precision / 0.62 recall, 2.2% of compliant replies flagged (zh-Hant
    0.86 / 0.61, zh-Hans 0.91 / 0.64, en 0.92 / 0.62); test 4: 0.95 / 0.61, 2.2% (zh-Hant 0.95 / 0.70, zh-Hans
    0.93 / 0.55, en 0.96 / 0.60). Precision and the share of compliant replies flagged are near the issue's
    targets (0.9, 3%); recall is far from 0.85. These floors, overall and per language, catch a regression."""
    copilot = Copilot()
    items = load_replies(EVALS / name)
    assert len(items) >= 360 and {i.lang for i in items} == {"zh-Hant", "zh-Hans", "en"}
    quality = evaluate(copilot.checker, items)
    assert quality.overall.precision >= precision and quality.overall.recall >= recall
    for lang, counts in quality.by_language.items():
        assert counts.precision >= 0.83 and counts.recall >= 0.5, (lang, counts)
    compliant = [i for i in items if not i.labels]
    assert sum(bool(copilot.check(i.reply, i.lang).violations) for i in compliant) / len(compliant) <= flagged


def test_cfpb_company_public_responses_run_through_the_checker(copilot):
    """The only real company replies in ../shared/data: CFPB's public-response statements."""
    path = DATA / "cfpb-complaints" / "complaints_sample.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent (shared data not checked out next to the project)")
    with path.open(encoding="utf-8") as f:
        responses = {row["Company public response"] for row in csv.DictReader(f)} - {""}
    assert len(responses) >= 5
    flagged = {text: categories(copilot.check(text, "en")) for text in responses}
    assert flagged["Company believes complaint caused principally by actions of third party outside the control or direction of the company"]
    assert not flagged["Company believes complaint represents an opportunity for improvement to better serve consumers"]


