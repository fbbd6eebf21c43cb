"""Issue 13: with an LLM configured, one call per final check (or per draft with findings) confirms or rejects
the checker's findings and adds missed ones with exact spans; any failure leaves the rules' findings standing.
All against the scripted OpenAI-compatible server, through the real SDK."""

from __future__ import annotations

import pytest

from copilot.service import Copilot
from copilot.settings import Settings
from tests.llm_server import ScriptedLLMServer, hang, malformed, reply_json, status

BLAMING = "這是倉庫那邊出的錯。請問您更新到最新版本後，問題還在嗎？我的電話是 0912-345-678。"
CLEAN_EN = "Sorry about the wait. Our records show it left the depot today, and honestly parcels in December are a lottery."


def _service(tmp_path, server, **extra) -> Copilot:
    return Copilot(Settings(
        data_dir=tmp_path, llm_base_url=server.base_url, llm_api_key="k", llm_model="scripted-model",
        llm_timeout=1.0, llm_retries=0, **extra))


def _verdicts(*pairs):
    return {"findings": [{"id": i, "verdict": v, "reason": "..."} for i, v in pairs], "added": []}


def test_confirmed_findings_are_shown_and_personal_data_never_reaches_the_llm(tmp_path):
    with ScriptedLLMServer() as server:
        server.script(reply_json(_verdicts(("f1", "confirm"))))
        result = _service(tmp_path, server).check_final(BLAMING, "zh-Hant")
        assert [v.category for v in result.violations] == ["blame_department"]
        assert result.violations[0].confidence >= 0.95
        sent = server.chat_requests[0].text
        assert "倉庫那邊出的錯" in sent and "0912-345-678" not in sent and "[PHONE_1]" in sent


def test_a_rejected_finding_is_folded_away_and_the_text_passes(tmp_path):
    with ScriptedLLMServer() as server:
        server.script(reply_json(_verdicts(("f1", "reject"))))
        result = _service(tmp_path, server).check_final(BLAMING, "zh-Hant")
        assert result.violations == [] and result.verdict == "ok"
        assert [v.category for v in result.second_look] == ["blame_department"]


def test_a_missed_violation_is_added_with_its_exact_words(tmp_path):
    added = {"findings": [], "added": [{"category": "arguing_minimising", "span": "parcels in December are a lottery",
                                        "reason": "normalises the delay"}]}
    with ScriptedLLMServer() as server:
        server.script(reply_json(added))
        result = _service(tmp_path, server).check_final(CLEAN_EN, "en")
        found = [v for v in result.violations if v.rule_id == "llm.arguing_minimising"]
        assert found and CLEAN_EN[found[0].start : found[0].end] == "parcels in December are a lottery"
        assert found[0].explanation == "normalises the delay"


@pytest.mark.parametrize(
    "added",
    [
        [{"category": "excuse", "span": "because of the holiday rush", "reason": "not in the text"}],
        [{"category": "rudeness", "span": "Sorry about the wait", "reason": "no such category"}],
    ],
)
def test_invented_spans_and_unknown_categories_are_ignored_with_a_notice(tmp_path, added):
    with ScriptedLLMServer() as server:
        server.script(reply_json({"findings": [], "added": added}))
        result = _service(tmp_path, server).check_final(CLEAN_EN, "en")
        assert not any(v.rule_id.startswith("llm.") for v in result.violations + result.second_look)
        assert any("did not name words of the text" in n for n in result.notices)


@pytest.mark.parametrize(
    "failure",
    [malformed(), reply_json({"verdicts": "yes"}), status(500), hang(3)],
    ids=["malformed", "wrong-shape", "server-error", "timeout"],
)
def test_any_failure_leaves_the_rules_findings_standing_with_a_notice(tmp_path, failure):
    with ScriptedLLMServer() as server:
        server.script(failure)
        result = _service(tmp_path, server).check_final(BLAMING, "zh-Hant")
        assert [v.category for v in result.violations] == ["blame_department"]
        assert any("LLM adjudication failed" in n for n in result.notices)


def test_a_folded_finding_the_llm_also_names_is_brought_up(tmp_path):
    text = "Sorry about the wait, and to be honest that's just how it is in December."
    added = {"findings": [], "added": [{"category": "arguing_minimising", "span": "that's just how it is in December"}]}
    with ScriptedLLMServer() as server:
        server.script(reply_json(added))
        result = _service(tmp_path, server).check_final(text, "en")
        assert any(v.category == "arguing_minimising" and "just how it is" in v.text for v in result.violations)


def test_without_an_llm_or_with_adjudication_off_no_call_is_made(tmp_path):
    assert Copilot(Settings(data_dir=tmp_path)).parts.adjudicator is None
    with ScriptedLLMServer() as server:
        result = _service(tmp_path, server, llm_adjudication=False).check_final(BLAMING, "zh-Hant")
        assert server.chat_requests == [] and result.violations


def test_a_false_finding_does_not_cost_an_llm_draft_its_text(kb_settings):
    """Adjudicate before rewriting: the LLM rejects the rules' finding, so the draft stays as written."""
    from tests.test_suggest import GOOD, READING

    question = "請問您更新到最新版本後，問題還在嗎？如果還在，我今天下午五點前幫您安排檢測。"
    drafts = dict(GOOD, empathetic_reply={"text": "這是倉庫那邊出的錯。" + question, "citations": []})
    with ScriptedLLMServer() as server:
        server.script(reply_json(READING), reply_json(drafts), reply_json(_verdicts(("f1", "reject"))))
        settings = kb_settings.model_copy(update={"llm_base_url": server.base_url, "llm_api_key": "k", "llm_retries": 0,
                                                  "llm_timeout": 2.0})
        s = Copilot(settings).suggest("我的手機更新後相機一直閃退，已經第三次了！")
        first = s.drafts[0]
        assert first.text == drafts["empathetic_reply"]["text"] and first.fixed_by == "none"
        assert first.check.violations == [] and [v.category for v in first.check.second_look] == ["blame_department"]
        assert len(server.chat_requests) == 3, "no rewrite call after the finding was rejected"
