"""Live conversations with the LLM engine, against the scripted OpenAI-compatible server: what the model is
shown (recent turns, a summary of older ones, the promises to keep), drafts that contradict the ledger being
rewritten, streamed drafts checked sentence by sentence, rewrite controls, and the escalation brief."""

from __future__ import annotations

import json

import pytest

from copilot.conversation.reader import ledger_of
from copilot.drafting.rewrite import RewriteRequest, RewriteUnavailable
from copilot.service import Copilot
from copilot.text import detect_language
from tests.llm_server import ScriptedLLMServer, reply_json, status, stream_then_fail
from tests.test_conversations import conversation_data, replay

READING = {"needs": ["fast_fix", "compensation"], "anger": 2, "customer_type": "emotional", "hard_type": None,
           "escalation": ["repeat_contact"], "category": "telecom/billing_error", "injection": False}
CLEAN = {
    "empathetic_reply": {"text": "谢谢您一直耐心等我，多扣的钱我会一笔一笔算清楚。今天下午5点前我会给您回电话，把结果跟您说清楚。", "citations": ["P1"]},
    "expectation_lowering": {"text": "这几个月的扣费我正在逐项核对，核对清楚的多扣部分都会退回，我会一直跟进到底。", "citations": ["P2"]},
    "compensation": {"text": "账户里的20元话费已经为您充好了，这件事由我负责跟进到底。", "citations": []},
}


@pytest.fixture
def llm_copilot(kb_settings, tmp_path):
    """A service pointed at a scripted server (yielded with it); conversation files in tmp."""
    with ScriptedLLMServer() as server:
        settings = kb_settings.model_copy(update={
            "llm_base_url": server.base_url, "llm_api_key": "test-key", "llm_model": "scripted-model", "llm_timeout": 3.0,
            "llm_retries": 0, "conversation_turns": 6, "audit_db": tmp_path / "audit.sqlite3",
            "conversations_db": tmp_path / "conversations.sqlite3"})
        yield Copilot(settings), server


def test_the_model_sees_recent_turns_a_summary_and_the_promises_to_keep(llm_copilot):
    copilot, server = llm_copilot
    data = conversation_data("zh-Hans")
    conversation_id = replay(copilot, data, upto=8)
    server.script(reply_json(READING), reply_json(CLEAN))
    suggestion = copilot.suggest_next(conversation_id)
    assert [d.engine for d in suggestion.drafts] == ["llm", "llm", "llm"]
    assert all(d.check.violations == [] for d in suggestion.drafts), [d.check.violations for d in suggestion.drafts]
    drafts_call = server.chat_requests[1].text
    # the last six turns verbatim, the three before them only as a summary
    for turn in data["turns"][3:9]:
        assert turn["text"][:30] in drafts_call
    assert "Summary of earlier turns" in drafts_call and "Turns 1-3" in drafts_call
    assert "[1] Customer" not in drafts_call and "[3] Customer" not in drafts_call and "[4] Agent" in drafts_call
    # the ledger: the call-back promised in turn 4 and the 20 yuan already given, and no fourth apology
    assert "already promised in turn 4, callback" in drafts_call and "due by 5 pm today" in drafts_call
    assert "amount 20" in drafts_call
    assert "do not apologise again" in drafts_call


def test_an_llm_draft_that_breaks_a_promise_is_sent_back_with_the_promise(llm_copilot):
    copilot, server = llm_copilot
    conversation_id = replay(copilot, conversation_data("zh-Hans"), upto=8)
    broken = dict(CLEAN, empathetic_reply={"text": "非常抱歉让您久等。我会在一周内给您回电话。", "citations": []})
    kept = {"text": "谢谢您一直耐心等我。我还是按说好的，今天下午5点前给您回电话。"}
    server.script(reply_json(READING), reply_json(broken), reply_json(kept))
    suggestion = copilot.suggest_next(conversation_id)
    first = suggestion.drafts[0]
    assert first.engine == "llm" and first.fixed_by == "llm" and first.text == kept["text"]
    rewrite_call = server.chat_requests[2].text
    assert "一周" in rewrite_call and "今天下午5点前" in rewrite_call  # the finding names the time already promised
    assert "ledger" not in rewrite_call.lower() or "promised" in rewrite_call.lower()


def test_when_the_model_keeps_breaking_it_the_rules_restore_the_promise(llm_copilot):
    copilot, server = llm_copilot
    conversation_id = replay(copilot, conversation_data("zh-Hans"), upto=8)
    broken = dict(CLEAN, empathetic_reply={"text": "我会在一周内给您回电话。", "citations": []})
    server.script(reply_json(READING), reply_json(broken))
    server.default = reply_json({"text": "我会在一周内给您回电话。"})
    first = copilot.suggest_next(conversation_id).drafts[0]
    assert first.fixed_by == "rules" and first.check.violations == [] and "一周" not in first.text
    assert "5点前" in first.text


def test_streamed_drafts_are_checked_sentence_by_sentence_while_they_arrive(llm_copilot):
    copilot, server = llm_copilot
    conversation_id = replay(copilot, conversation_data("zh-Hant"), upto=4)
    blaming = "讓您一直等，真的很抱歉。這是物流那邊出的錯，跟我們無關。我會在今天下午5點前回電給您。"
    fixed = {"text": "讓您一直等，真的很抱歉。包裹現在由我親自追蹤，我會在今天下午5點前回電給您。"}
    answer = {"empathetic_reply": {"text": blaming, "citations": ["P1"]},
              "expectation_lowering": {"text": "我了解您想在禮拜天前收到。這個時間我現在還不能答應，但我會每天告訴您包裹的位置。", "citations": []},
              "compensation": {"text": "這次等待讓您很困擾，我先在您的帳戶加上 20 元購物金。", "citations": []}}
    # one answer for the three drafts, streamed in small pieces
    confirm = {"findings": [{"id": f"f{i}", "verdict": "confirm"} for i in range(1, 9)], "added": []}
    server.script(reply_json(READING | {"category": "ecommerce/late_delivery"}), reply_json(answer, pieces=80),
                  reply_json(confirm), reply_json(fixed))
    events = list(copilot.stream_next(conversation_id))
    first = [e for e in events if e.kind == "empathetic_reply"]
    deltas = [e for e in first if e.type == "delta"]
    assert len(deltas) >= 5 and "".join(e.delta for e in deltas) == blaming  # token by token, decoded from the JSON
    flagged = next(i for i, e in enumerate(first) if e.type == "check" and any(v.category == "blame_partner" for v in e.violations))
    assert flagged < max(i for i, e in enumerate(first) if e.type == "delta"), "the finding must arrive while it is still writing"
    violation = next(v for v in first[flagged].violations if v.category == "blame_partner")
    assert first[flagged].text[violation.start : violation.end] == violation.text
    final = next(e.draft for e in first if e.type == "draft")
    assert final.engine == "llm" and final.fixed_by == "llm" and final.text == fixed["text"] and final.check.violations == []
    assert server.chat_requests[1]["stream"] is True
    # the second draft's text began arriving only after the first one's had finished
    second = [i for i, e in enumerate(events) if e.type == "delta" and e.kind == "expectation_lowering"]
    assert second and second[0] > max(i for i, e in enumerate(events) if e.type == "delta" and e.kind == "empathetic_reply")
    done = events[-1]
    assert done.type == "done" and [d.engine for d in done.suggestion.drafts] == ["llm", "llm", "llm"]


def test_a_stream_that_breaks_off_is_finished_by_the_composer(llm_copilot):
    copilot, server = llm_copilot
    conversation_id = replay(copilot, conversation_data("en"), upto=4)
    server.script(reply_json(READING | {"category": "travel/baggage_issue"}), stream_then_fail("I'm sorry your bag"))
    events = list(copilot.stream_next(conversation_id))
    notices = [e.message for e in events if e.type == "notice"]
    assert len(notices) == 1 and "composer" in notices[0]
    drafts = [e.draft for e in events if e.type == "draft"]
    assert [d.engine for d in drafts] == ["composer"] * 3 and all(d.text and d.check.violations == [] for d in drafts)

    # it broke off after the first draft was complete: that one is kept, the composer writes the other two
    whole = '{"empathetic_reply": {"text": "I\'m so sorry your bag is still missing. I\'m tracing it myself and will update you by 5 pm today.", "citations": []}, "expectation_lowering": {"text": "I can'
    server.script(reply_json(READING | {"category": "travel/baggage_issue"}), stream_then_fail(whole, pieces=6))
    events = list(copilot.stream_next(conversation_id))
    drafts = [e.draft for e in events if e.type == "draft"]
    assert [d.engine for d in drafts] == ["llm", "composer", "composer"]
    assert any("broke off" in (e.message or "") for e in events if e.type == "notice")


def test_rewrite_controls_in_llm_mode(llm_copilot):
    copilot, server = llm_copilot
    conversation_id = replay(copilot, conversation_data("zh-Hant"), upto=4)
    draft = "讓您一直等，真的很抱歉。包裹現在由我親自追蹤，我會在今天下午5點前回電給您。"
    server.script(reply_json({"text": "I'm so sorry you've been kept waiting. I'm tracking the parcel myself and will call you back by 5 pm today."}))
    translated = copilot.rewrite(RewriteRequest(text=draft, control="language", target="en", conversation_id=conversation_id))
    assert translated.engine == "llm" and translated.language == "en" and detect_language(translated.text) == "en"
    assert translated.check.violations == []
    call = server.chat_requests[-1]
    assert "Translate" in call.text and "English" in call.text and draft in call.text

    # the model answers in the wrong language: the composer cannot translate, and says why
    server.script(reply_json({"text": draft}))
    with pytest.raises(RewriteUnavailable, match="wrong_language"):
        copilot.rewrite(RewriteRequest(text=draft, control="language", target="en"))

    # a shorter text that invents a faster promise is fixed by the rules before it reaches the agent
    server.script(reply_json({"text": "抱歉，我會在一週內回電給您。"}))
    shorter = copilot.rewrite(RewriteRequest(text=draft, control="shorter", conversation_id=conversation_id))
    assert shorter.engine == "llm" and shorter.fixed_by == "rules" and shorter.check.violations == []

    # switching script is exact and local: the model is not asked
    asked = len(server.chat_requests)
    switched = copilot.rewrite(RewriteRequest(text=draft, control="script"))
    assert switched.engine == "composer" and detect_language(switched.text) == "zh-Hans" and len(server.chat_requests) == asked


def test_escalation_brief_in_llm_mode_keeps_the_facts_and_checks_the_opening_line(llm_copilot):
    copilot, server = llm_copilot
    data = conversation_data("zh-Hant")
    conversation_id = replay(copilot, data)
    narrative = {"what_happened": "The parcel for the customer's son's birthday is three days late and stuck at a depot.",
                 "customer_wants": "The parcel before Sunday, and a straight answer.",
                 "approach": "Acknowledge the birthday first; give one concrete time and keep it.",
                 "opening_line": "您好，我是值班主管。這是物流那邊的問題，不過我會幫您看看。"}
    server.script(reply_json(narrative))
    brief = copilot.escalation_brief(conversation_id, "en")
    sections = {s.key: s.text for s in brief.sections}
    assert brief.engine == "llm" and sections["what_happened"] == narrative["what_happened"]
    promised = [c.text for c in copilot.conversation(conversation_id).commitments]
    assert all(text in sections["promised"] for text in promised)  # facts come from the ledger, not the model
    assert "物流那邊的問題" not in brief.opening_line and copilot.check(brief.opening_line, "zh-Hant").violations == []
    call = server.chat_requests[-1].text
    assert "English" in call and "Traditional Chinese" in call and "<transcript>" in call

    server.script(status(500))
    fallback = copilot.escalation_brief(conversation_id, "zh-Hant")
    assert fallback.engine == "composer" and any("composer wrote the brief" in n for n in fallback.notices)
    assert ledger_of(copilot.conversation(conversation_id)).commitments


def test_the_transcript_sent_to_the_model_fits_the_token_budget(llm_copilot):
    copilot, server = llm_copilot
    data = conversation_data("en")
    long_turns = dict(data, turns=[dict(t, text=(t["text"] + " ") * 12) for t in data["turns"]])
    conversation_id = replay(copilot, long_turns)
    server.script(reply_json(READING | {"category": "travel/baggage_issue"}), reply_json({
        "empathetic_reply": {"text": "Thank you for bearing with me. I'm on it now.", "citations": []},
        "expectation_lowering": {"text": "I can't change the flight schedule, but I'm tracking your bag myself.", "citations": []},
        "compensation": {"text": "The CNY 30 credit is already on your account.", "citations": []}}))
    copilot.suggest_next(conversation_id)
    from copilot.drafting.llm import LLMEngine

    call = json.loads(json.dumps(server.chat_requests[1].body))["messages"][1]["content"]
    transcript = call.split("<complaint>")[1].split("</complaint>")[0]
    verbatim = [line for line in transcript.splitlines() if line.startswith("[")]
    assert 1 <= len(verbatim) < 6, "long turns: fewer than the six allowed fit in the budget"
    assert sum(LLMEngine.count_tokens(line) for line in verbatim) <= copilot.settings.conversation_tokens + LLMEngine.count_tokens(verbatim[0])
    assert verbatim[-1].startswith("[20] Agent")  # the newest turn is always kept
