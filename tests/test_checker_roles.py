"""Issue 13: clause roles before rules, partners and teams named by role, the learned layer fused with the
rules, and findings split by confidence into shown violations and "worth a second look"."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.checking import CheckContext, RuleFileError
from copilot.checking.quality import evaluate, load_replies
from copilot.checking.roles import load_roles
from copilot.service import Copilot
from copilot.settings import PROJECT_ROOT, Settings

EVALS = PROJECT_ROOT / "evals" / "checker"


@pytest.fixture(scope="module")
def copilot() -> Copilot:
    return Copilot()


def _roles(copilot, text, lang):
    result = copilot.check(text, lang)
    return {text[c.start : c.end].strip("，,。.？?！! "): c.role for c in result.clauses}


@pytest.mark.parametrize(
    ("text", "lang", "clause", "role"),
    [
        ("請問您更新到最新版本後，問題還在嗎？", "zh-Hant", "問題還在嗎", "question"),
        ("请打开 设置 > 通用 > 软件更新，升级到最新版本。", "zh-Hans", "请打开 设置 > 通用 > 软件更新", "menu_path"),
        ("Please update the app to the latest version and restart your phone.", "en",
         "Please update the app to the latest version and restart your phone", "instruction"),
        ("我們無法保證確切的送達時間，但我會每天跟您更新進度。", "zh-Hant", "我們無法保證確切的送達時間", "disclaimer"),
        ("Once we have the order number, we can check the parcel's location.", "en",
         "Once we have the order number, we can check the parcel's location", "condition"),
    ],
)
def test_each_clause_gets_its_role(copilot, text, lang, clause, role):
    assert _roles(copilot, text, lang).get(clause) == role


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Please update to the latest version and try again; if it still crashes, send us a screenshot by DM.", "en"),
        ("請到「設定 > 一般 > 軟體更新」升級系統後再試一次。", "zh-Hant"),
        ("我们无法保证明天一定送到，但我会一早帮您催件，中午前告诉您进展。", "zh-Hans"),
        ("We can't guarantee it won't happen again, but I've switched on outage alerts for your line.", "en"),
        ("请问您的路由器重启之后，指示灯还是红色的吗？", "zh-Hans"),
        ("核實之前需要您提供訂單編號，收到後我馬上幫您查。", "zh-Hant"),
        ("Could you tell us which version of the app you're on?", "en"),
        ("您的 eSIM 已經開通，5G 訊號需要重新開機才會顯示。", "zh-Hant"),
        ("Your OTA update to iOS 18 should fix the Wi-Fi 6 drop.", "en"),
        ("Hello,\n\nThank you for your email. Could you reply with a few words about what has happened?\n\nKind regards,\nCustomer Care Team", "en"),
        ("您好：\n\n謝謝您的來信，麻煩回覆這封郵件說明一下發生了什麼。\n\n客服團隊", "zh-Hant"),
        # disclaimers, ownership, policies cited to grant, wh-questions, device labels, car parks, queues of people
        ("具体送达时间我没法打包票，一有最新位置就马上发短信告诉您。", "zh-Hans"),
        ("我哋唔能夠保證一次就修好，但個案會一直保持開啟，直到你嘅網速回復正常為止。", "zh-Hant"),
        ("您好,大件垃圾预约上门没有按时来,是我们调度漏派了,非常抱歉。已重新安排在本周六上午上门。", "zh-Hans"),
        ("The delay was caused by a mistake on our side: your report was filed against the wrong application.", "en"),
        ("您好,按照我院规定,孕妇产检可享受 2 小时免费停车,我已将您的车牌加入名单。", "zh-Hans"),
        ("Under our refund policy, annual plans cancelled within 30 days get a full refund, so I've refunded you today.", "en"),
        ("請問你係用邊個版本嘅 App？喺「設定 > 關於」可以睇到。", "zh-Hant"),
        ("请问您买的是哪个车站出发的票、班次号是多少？我先查一下这个班次。", "zh-Hans"),
        ("想問一下，數據機上面個「PON」燈有冇閃紅？", "zh-Hant"),
        ("抱歉!您说的是 P3 停车场的缴费二维码吧?我们已经安排人员更换了。", "zh-Hans"),
        ("Sorry the bar queue in Hall 2 was so long during the interval; you can pre-order drinks in the app.", "en"),
        ("您好，列車延誤超過30分鐘的車票，系統會在3個工作天內退回原信用卡。", "zh-Hant"),
    ],
)
def test_realistic_helpdesk_text_is_not_flagged(copilot, text, lang):
    result = copilot.check(text, lang)
    assert result.violations == [], [(v.rule_id, v.text) for v in result.violations]


@pytest.mark.parametrize(
    ("text", "lang", "category"),
    [
        ("餐點少送是餐廳出餐時的疏失，請見諒。", "zh-Hant", "blame_partner"),
        ("房屋开裂属于开发商质保范围，请您直接联系开发商。", "zh-Hans", "blame_partner"),
        ("We're just the marketplace, so you'll need to take that up with the seller directly.", "en", "blame_partner"),
        ("這次停電是台電線路的問題。", "zh-Hant", "blame_partner"),
        ("房间打扫不及时是客房部的问题。", "zh-Hans", "blame_department"),
        ("Housekeeping are running behind today.", "en", "blame_department"),
        ("您講話可以小聲一點嗎？", "zh-Hant", "arguing_minimising"),
        ("呢張單係第三方賣家發貨，唔關我哋平台事，你要自己搵賣家跟進。", "zh-Hant", "blame_partner"),
        ("包裹被海关扣下查验了，这个我们也无能为力。", "zh-Hans", "blame_partner"),
        ("Your claim was rejected by the assessor, so there isn't anything more I can do.", "en", "blame_partner"),
        ("The repairer hasn't ordered the parts yet, which is what's holding things up.", "en", "blame_partner"),
        ("Installation bookings are handled by our logistics department, so you'll need to call them directly.", "en",
         "blame_department"),
        # outcomes promised as certain, counterfactuals, leading questions, Cantonese minimising
        ("你放心，件行李我哋一定會幫你搵返。", "zh-Hant", "overpromise"),
        ("别担心，等定损员看完照片，理赔肯定能通过。", "zh-Hans", "overpromise"),
        ("Rest assured, your bag will be found and delivered to you today.", "en", "overpromise"),
        ("如果您當天有帶健保卡，就不會被收自費了。", "zh-Hant", "blame_customer"),
        ("If you had chosen the insured delivery option, we would have been able to refund this straight away.", "en",
         "blame_customer"),
        ("Did the phone get dropped or wet at any point before the screen stopped responding?", "en", "blame_customer"),
        ("呢筆逾期費收得冇錯，新機頭幾日發熱係好正常嘅。", "zh-Hant", "arguing_minimising"),
        ("新车交付延期，整个行业都一样，请您理解。", "zh-Hans", "arguing_minimising"),
    ],
)
def test_partners_and_teams_named_by_role_and_other_violations_are_caught(copilot, text, lang, category):
    assert category in {v.category for v in copilot.check(text, lang).violations}


def test_a_product_name_is_not_jargon_but_an_internal_term_beside_it_is(copilot):
    result = copilot.check("Your OTA update to iOS 18 should fix the Wi-Fi 6 drop; the NOC ticket is P2.", "en")
    assert {v.text for v in result.violations} == {"NOC", "P2"}


def test_owning_a_cause_with_a_process_named_is_not_blame(copilot):
    for text, lang in [("这次重复扣款是我们计费出了错，多扣的已经原路退回。", "zh-Hans"),
                       ("Charging you twice was our billing error; the duplicate has been refunded.", "en")]:
        assert not copilot.check(text, lang).violations, text


def test_every_finding_carries_a_confidence_and_low_ones_are_folded_away():
    copilot = Copilot()
    result = copilot.check("這是倉庫那邊出的錯，請您冷靜一點。", "zh-Hant")
    show_at = copilot.checker.calibration.show_at
    assert result.violations and all(show_at <= v.confidence <= 1 for v in result.violations)
    copilot.checker.calibration.show_at = 0.99
    folded = copilot.check("這是倉庫那邊出的錯，請您冷靜一點。", "zh-Hant")
    assert folded.violations == [] and folded.verdict == "ok"
    assert {v.category for v in folded.second_look} == {v.category for v in result.violations}


def test_the_learned_layer_adds_what_no_rule_wrote_down():
    on = Copilot(Settings(learned_checks=True))
    off = Copilot(Settings(learned_checks=False))
    items = load_replies(EVALS / "dev_realistic.jsonl")
    with_learned, rules = evaluate(on.checker, items).overall, evaluate(off.checker, items).overall
    assert with_learned.recall > rules.recall and with_learned.precision >= 0.9
    assert any(v.rule_id.startswith("learned.") for i in items for v in on.check(i.reply, i.lang).violations)


def test_quality_on_the_realistic_held_out_set(copilot):
    """`heldout_realistic.jsonl`: 240 helpdesk replies (16 industries, half compliant, many with steps, menu
    paths and questions) by an annotator who never saw the code or the rules; never tuned on, measured once per
    change of approach: 0.93 / 0.44 before issue 13, 0.93 / 0.51 with roles and the first learned layer,
    0.93 / 0.66 with the classifier calibrated on its own precision, 0.93 / 0.72 with six more voices in its
    training data, 0.93 / 0.73 with the composer's sentences as compliant data (3.3% of compliant replies flagged);
    0.97 / 0.75 (0.8%) after the second round. Short of the issue's recall target; these floors catch a regression."""
    items = load_replies(EVALS / "heldout_realistic.jsonl")
    quality = evaluate(copilot.checker, items)
    assert quality.overall.precision >= 0.93 and quality.overall.recall >= 0.72
    compliant = [i for i in items if not i.labels]
    flagged = sum(bool(copilot.check(i.reply, i.lang).violations) for i in compliant)
    assert flagged / len(compliant) <= 0.025


def test_a_broken_role_file_is_named_with_its_line(tmp_path: Path):
    bad = tmp_path / "roles.yaml"
    bad.write_text("roles:\n  - role: question\n    patterns: {zh: ['(unclosed']}\n    rules_out: [excuse]\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"roles.yaml:2"):
        load_roles(bad)
    bad.write_text("roles:\n  - role: question\n    patterns: {zh: ['x']}\n    rules_out: [no_such_category]\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"roles.yaml:2.*no_such_category"):
        load_roles(bad)


def test_calibration_is_measured_on_labelled_replies_and_written_back(copilot, tmp_path):
    from copilot.checking.calibration import load_calibration
    from copilot.eval.calibration import calibrate, write_calibration

    measured = calibrate(copilot.checker, [EVALS / "dev_realistic.jsonl"])
    assert measured["rule_precision"] and all(0 < p <= 1 for p in measured["rule_precision"].values())
    bands = [precision for _, precision in measured["learned_only"]]
    assert bands == sorted(bands, reverse=True), "precision never falls as the classifier grows surer"
    target = tmp_path / "calibration.yaml"
    target.write_text("# hand-written note\nshow_at: 0.8\nlearned_only_skip: [jargon]\n", encoding="utf-8")
    write_calibration(target, measured, [EVALS / "dev_realistic.jsonl"])
    loaded = load_calibration(target)
    assert loaded.show_at == 0.8 and loaded.learned_only_skip == ["jargon"]
    assert loaded.rule_precision == measured["rule_precision"]
    assert "# hand-written note" in target.read_text(encoding="utf-8")


def test_the_panel_folds_the_second_look_away_below_the_findings():
    from copilot.checking.models import CheckResult
    from copilot.ui.panel import findings

    result = Copilot().check("這是倉庫那邊出的錯。", "zh-Hant")
    folded = result.model_copy(update={"violations": [], "second_look": result.violations, "verdict": "ok"})
    text = findings(folded)
    assert "<details" in text and "值得再看一眼" in text and "倉庫那邊出的錯" in text
    assert "<details" not in findings(CheckResult(language="en", verdict="ok"))


@pytest.mark.parametrize(
    ("text", "lang", "kept", "gone"),
    [
        ("很抱歉斷網了，工程師2-3小時內就會上門。請問您重新開機後，數據機的燈還是紅色的嗎？", "zh-Hant",
         ["請問您重新開機後，數據機的燈還是紅色的嗎？", "48小時"], ["2-", "3小時"]),
        ("Sorry about the outage; an engineer will be with you in 2 to 3 hours. Does the light on the router stay red after a restart?",
         "en", ["Does the light on the router stay red after a restart?", "within 48 hours"], ["2 to", "in within"]),
    ],
)
def test_a_fix_replaces_a_time_range_whole_and_keeps_the_question(copilot, text, lang, kept, gone):
    fixed = copilot.fix(text, lang, context=CheckContext(policy="telecom/broadband_outage"))
    assert fixed.check.violations == []
    assert all(k in fixed.text for k in kept) and not any(g in fixed.text for g in gone), fixed.text


def test_a_fix_keeps_questions_steps_and_times_outside_the_offending_clause(copilot):
    text = "这是仓库那边出的错。请到「设置 > 通用 > 软件更新」升级后再试。请问您方便提供订单号吗？我会在 24 小时内回复您。"
    fixed = copilot.fix(text, "zh-Hans")
    assert "仓库" not in fixed.text and fixed.check.violations == []
    for piece in ("设置 > 通用 > 软件更新", "请问您方便提供订单号吗？", "24 小时"):
        assert piece in fixed.text


def test_when_no_safe_fix_exists_the_text_is_left_and_the_finding_shown(copilot, monkeypatch):
    from copilot.checking import fixer as fixer_module

    text = "这是仓库那边出的错，我会在 24 小时内回复您。"
    # a rewrite that would drop the promised time is not safe
    monkeypatch.setattr(fixer_module.Fixer, "_rewrite", lambda self, t, lang, v, slots, last: ("很抱歉。", []))
    fixed = copilot.fix(text, "zh-Hans")
    assert fixed.text == text and [v.category for v in fixed.check.violations] == ["blame_department"]
    assert any("no safe fix" in n and "24 小时" in n for n in fixed.check.notices)


def test_written_cantonese_is_read_as_mandarin_with_every_offset_kept():
    from copilot.text.matching import normalise_for_matching

    for text, expected in [("唔關我哋管理處事", "不关我们管理处事"), ("呢筆逾期費收得冇錯", "这笔逾期费收得没错"),
                           ("係咪你自己改過設定?", "是否你自己改过设定?"), ("關係到系統", "关系到系统"),
                           ("你好呢？", "你好呢？"), ("Hello 唔該", "Hello 谢谢")]:
        read = normalise_for_matching(text)
        assert read == expected and len(read) == len(text)


def test_the_classifier_scores_a_clause_the_same_in_either_script():
    from copilot.checking.learned import ClauseClassifier, Example

    examples = [Example(text=t, lang="zh-Hant", category=c) for t, c in [
        ("這是倉庫那邊出的錯", "blame_department"), ("門市那邊沒有通知我們", "blame_department"),
        ("我會在今天下午回覆您", "none"), ("請您提供訂單編號", "none")]] + [
        Example(text="It was the warehouse's mistake", lang="en", category="blame_department"),
        Example(text="I'll call you back by 5pm", lang="en", category="none")]
    classifier = ClauseClassifier.train(examples)
    # the checker scores the normalised (Simplified) text; a Traditional example must teach the same n-grams
    simplified = classifier.probabilities(["这是仓库那边出的错"], chinese=True)[0]
    assert max(simplified, key=simplified.__getitem__) == "blame_department"


def test_calibration_bands_are_measured_with_a_classifier_that_never_saw_the_set(tmp_path):
    from copilot.eval.calibration import example_files_without

    replies = tmp_path / "set.jsonl"
    replies.write_text('{"id": "x-1", "lang": "en", "reply": "Hi.", "labels": []}\n', encoding="utf-8")
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "from_set.jsonl").write_text('{"text": "Hi", "lang": "en", "category": "none", "from": "x-1"}\n')
    (tmp_path / "examples" / "other.jsonl").write_text('{"text": "Hi", "lang": "en", "category": "none", "from": "y-1"}\n')
    assert [p.name for p in example_files_without(tmp_path / "examples", replies)] == ["other.jsonl"]
