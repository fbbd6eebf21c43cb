"""Complaints about anything: the policy found only where one applies (the issue's floors on the held-out set,
and a regression floor on the test set, written after the code and never tuned on), nothing only a policy
could justify when none does, public replies that fit one post and ask nothing personal in public, replies
that answer what the customer said (their name, their question, who needs care, what they do not want), and
input with nothing to act on."""

from __future__ import annotations

import re

import httpx
import pytest

from copilot.drafting import SuggestContext
from copilot.drafting.llm_drafter import drafts_prompt
from copilot.eval.dataset import SharedDataMissing, load_cases
from copilot.eval.defects import draft_defects
from copilot.service import Copilot
from copilot.settings import PROJECT_ROOT
from tests.llm_server import ScriptedLLMServer, reply_json

HELDOUT = PROJECT_ROOT / "evals" / "drafting" / "heldout.jsonl"
TEST = PROJECT_ROOT / "evals" / "drafting" / "test.jsonl"


def _cases(path):
    try:
        return load_cases(path)
    except SharedDataMissing as exc:
        pytest.skip(f"{exc}: the drafting sets' real complaints live in ../shared/data")


@pytest.fixture(scope="module")
def heldout():
    return _cases(HELDOUT)


def _precision_recall(pairs: list[tuple[str, str | None]]) -> tuple[float, float, int, int]:
    """(expected, assigned) per complaint -> precision over the assigned, recall over the in-policy ones."""
    assigned = [(e, a) for e, a in pairs if a is not None]
    in_policy = [(e, a) for e, a in pairs if e != "none"]
    precision = sum(e == a for e, a in assigned) / len(assigned)
    recall = sum(e == a for e, a in in_policy) / len(in_policy)
    return precision, recall, len(assigned), len(in_policy)


@pytest.fixture(scope="module")
def suggestions(kb_copilot, heldout):
    return [(case, kb_copilot.suggest(case.complaint, case.context)) for case in heldout]


def test_the_policy_is_found_where_one_applies_and_only_there(suggestions):
    precision, recall, assigned, in_policy = _precision_recall([(case.expect.policy, s.policy) for case, s in suggestions])
    assert in_policy >= 25 and sum(case.expect.policy == "none" for case, _ in suggestions) >= 0.4 * len(suggestions)
    assert precision >= 0.9, f"precision {precision:.2f} over {assigned} assigned"
    assert recall >= 0.7, f"recall {recall:.2f} over {in_policy} in-policy complaints"


def test_the_policy_floor_holds_on_complaints_written_after_the_code(kb_copilot):
    """The test set was labelled by two annotators after the code was written and never tuned on. It measured
    0.80 / 0.70: under the issue's 0.9 precision, so this is a floor against regressions, not the target."""
    cases = _cases(TEST)
    pairs = [(case.expect.policy, kb_copilot.analyze(case.complaint, case.context).category) for case in cases]
    precision, recall, assigned, in_policy = _precision_recall([(e, c.key if c else None) for e, c in pairs])
    assert in_policy >= 20 and precision >= 0.75 and recall >= 0.65, (precision, recall, assigned, in_policy)


def test_without_a_policy_nothing_only_a_policy_could_justify(kb_copilot, suggestions):
    """No amount, no time frame, no refusal: the reply names the problem and asks, or says what is checked."""
    for case, s in suggestions:
        if s.policy is not None:
            continue
        for d in s.drafts:
            defects = draft_defects(d.text, d.language, case.context.channel or "chat", False, case.complaint)
            assert not defects, (case.id, d.kind, defects, d.text)
            assert not re.search(r"没办法安排|沒辦法安排|沒法答應|没法答应|isn't something I can arrange|can't agree to", d.text)
            assert d.check.violations == []


def test_each_draft_opens_differently(suggestions):
    for case, s in suggestions:
        openings = [re.sub(r"^(您好|你好|Hi|Hello|Dear customer|尊敬的客户|尊敬的客戶)[，,：:\s]*", "", d.text)[:12] for d in s.drafts]
        assert len(set(openings)) >= 2, (case.id, openings)


@pytest.mark.parametrize("text", ["在吗", "在嗎？？", "😡😡😡", "https://t.cn/A6xYz", "hello?", "人工客服"])
def test_a_message_with_nothing_to_act_on_gets_a_short_question(kb_copilot, text):
    s = kb_copilot.suggest(text, SuggestContext(channel="chat"))
    assert s.analysis.contentless and s.policy is None
    for d in s.drafts:
        assert len(d.text) <= 120 and re.search(r"[？?]", d.text), d.text
        assert not re.search(r"\d", d.text) and d.check.violations == []


def test_a_message_mixing_languages_is_answered_in_its_main_language(kb_copilot):
    s = kb_copilot.suggest("我上禮拜買的 earbuds 左邊完全沒聲音，customer service 一直沒回我 email，到底要等多久？")
    assert s.analysis.reply_language == "zh-Hant" and all(d.language == "zh-Hant" for d in s.drafts)
    s = kb_copilot.suggest("My 訂單 has not arrived after two weeks and nobody answers my emails. Where is my parcel?")
    assert s.analysis.reply_language == "en" and all(d.language == "en" for d in s.drafts)


def test_public_replies_through_the_api_fit_one_post_and_ask_nothing_personal_in_public(api, heldout):
    client = httpx.Client(base_url=api, timeout=60)
    for case in heldout[:40]:
        r = client.post("/v1/suggest", json={"complaint": case.complaint, "context": {"channel": "social"}})
        assert r.status_code == 200, r.text
        for d in r.json()["drafts"]:
            limit = 280 if d["language"] == "en" else 140
            assert len(d["text"]) <= limit, (case.id, d["kind"], len(d["text"]), d["text"])
            assert "personal_data_in_public" not in draft_defects(d["text"], d["language"], "social", True), d["text"]


def test_an_abstained_category_sends_no_policy_to_the_llm(kb_copilot):
    complaint = "我家楼上漏水漏了两个礼拜，物业每次都说会通知楼上，之后就没下文了。"
    a = kb_copilot.analyze(complaint)
    assert a.category is None
    from copilot.drafting.models import DraftRequest

    with ScriptedLLMServer() as server:
        settings = kb_copilot.settings.model_copy(update={"llm_base_url": server.base_url, "llm_api_key": "k"})
        engine = Copilot(settings).llm
        system, user, _ = drafts_prompt(engine, DraftRequest(complaint=complaint, analysis=a, channel="social"), complaint, [], ["具体的地址"])
        server.script(reply_json({}))
    assert "none applies" in user and "Entitlement" not in user and "CNY" not in user
    assert "one post" in system and "private message" in system
    assert "problem:" in user and "details still needed to act" in user


def test_a_complaint_over_the_limit_is_refused_with_the_limit_named(api):
    r = httpx.post(f"{api}/v1/suggest", json={"complaint": "我的包裹一直沒到，" * 2000}, timeout=30)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_complaint" and "8,000" in error["message"] and "COPILOT_MAX_COMPLAINT_CHARS" in error["message"]


@pytest.mark.parametrize(
    ("complaint", "channel", "expected"),
    [
        ("您好，我的信用卡昨天被扣了一筆 NT$3,200 的年費，去年說好首年免年費，請問要怎麼處理？\n\n陳先生", "email", r"^陳先生，您好"),
        ("Hello,\n\nMy broadband has dropped every evening this week. Is there an outage in my area?\n\nRegards,\nSarah Lee", "email", r"^(Dear|Hi) Sarah,"),
        ("我上週五寄出的維修件到現在還沒寄回來，請問修好後可以改寄到我公司嗎？", "chat", r"問到的問題|提的問題"),
        ("I booked a table for six on Saturday and when we arrived there was no booking. Could we have a table this Saturday instead?", "chat", r"question"),
        ("喂你好，我們這邊從晚上八點就停電到現在，家裡有長輩在用製氧機，電池撐不了太久。", "phone", r"特別照顧"),
        ("Our heating has been off for two days and my elderly mother lives with us.", "chat", r"extra care"),
    ],
)
def test_the_first_reply_answers_what_the_customer_said(kb_copilot, complaint, channel, expected):
    """Greeted by the name they signed with, their question noted, someone who needs care put first."""
    s = kb_copilot.suggest(complaint, SuggestContext(channel=channel))
    assert re.search(expected, s.drafts[0].text), s.drafts[0].text
    assert all(d.check.violations == [] for d in s.drafts)


def test_what_the_customer_says_they_do_not_want_is_not_offered(kb_copilot):
    s = kb_copilot.suggest("我想投訴你哋一個車長，今晚喺旺角飛站，仲鬧我。我唔係要咩賠償，只係想你哋知道。", SuggestContext(channel="phone"))
    assert "compensation" not in s.analysis.asks
    assert not any(re.search(r"補償|賠償|补偿|赔偿", d.text) for d in s.drafts), [d.text for d in s.drafts]
    s = kb_copilot.suggest("I'm not asking for a refund, I just want someone to fix the lift in our building.", SuggestContext(channel="chat"))
    assert "refund" not in s.analysis.asks


def test_praise_is_thanked_only_when_it_is_given(kb_copilot):
    mixed = "服务员很热情，环境也很干净，菜品也挺好吃，就是上菜太慢了，等了快一个小时。"
    passing = "还是对预装的系统不满意，占地方，用着也不顺手。朋友说新版本不错。"
    thanked = r"做得好|肯定的地方"
    assert re.search(thanked, kb_copilot.suggest(mixed, SuggestContext(channel="social")).drafts[0].text)
    assert not any(re.search(thanked, d.text) for d in kb_copilot.suggest(passing, SuggestContext(channel="social")).drafts)
