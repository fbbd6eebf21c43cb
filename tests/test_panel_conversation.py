"""The side panel's Conversation tab in a real headless Chromium (Debian's), driven by Playwright: a CRM posts
the turns of a live conversation to the API while the panel follows it by itself (transcript, mood sparkline,
alerts, promises ledger, streamed drafts), then the agent checks a reply against the ledger, rewrites a draft
in the other script and asks for the escalation brief. Plus the sparkline's SVG, which is a pure function."""

from __future__ import annotations

import re

import pytest

from copilot.settings import PROJECT_ROOT
from copilot.ui.panel import md_text
from copilot.ui.sparkline import sparkline
from tests.conftest import chromium_page, needs_chromium, serve_in_thread

FIRST = "我的訂單 TW20251103-8812 已經晚了五天還沒到！！到底什麼時候才會送到？"
PROMISE = "非常抱歉讓您久等了，我會在今天下午五點前回電給您。"
MANAGER = "叫你們主管出來！"
OTHER_DEADLINE = "我會在24小時內回覆您。"



def test_sparkline_has_a_polyline_and_one_circle_per_point():
    svg = sparkline([1, 3, 0], ["turn 1", "turn 3", "turn <5>"], width=100, height=40, pad=5)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<circle") == 3
    points = re.search(r'<polyline points="([^"]+)"', svg).group(1).split()
    assert points == ["5.0,25.0", "50.0,5.0", "95.0,35.0"]  # anger 3 at the top, 0 at the bottom
    assert "<title>turn &lt;5&gt;</title>" in svg  # labels are escaped
    assert sparkline([]).count("<circle") == 0
    assert sparkline([9]).count("<circle") == 1  # out-of-range anger is clamped, not drawn off the chart


def test_md_text_shows_customer_words_literally():
    assert md_text("**hi** <b>x</b>") == r"\*\*hi\*\* \<b\>x\</b\>"
    assert md_text("- item\n1. one") == "\\- item\n1\\. one"


@pytest.fixture(scope="module")
def panel(kb_settings, tmp_path_factory):
    import gradio as gr

    from copilot.api import create_app
    from copilot.service import Copilot
    from copilot.ui import build_panel
    from copilot.ui.panel import CSS

    folder = tmp_path_factory.mktemp("panel-conversation")
    settings = kb_settings.model_copy(update={"audit_db": folder / "audit.sqlite3",
                                              "conversations_db": folder / "conversations.sqlite3"})
    service = Copilot(settings)
    app = gr.mount_gradio_app(create_app(service), build_panel(service), path="/", css=CSS)
    server, thread, url = serve_in_thread(app)
    yield url
    server.should_exit = True
    thread.join(timeout=15)


@needs_chromium
def test_conversation_tab_follows_a_live_conversation(panel):
    import httpx
    from playwright.sync_api import expect

    from copilot.text.script import convert_script

    url = panel
    api = httpx.Client(base_url=url, timeout=30)
    started = api.post("/v1/conversations", json={"channel": "chat"})
    assert started.status_code == 201, started.text
    cid = started.json()["id"]

    def say(role: str, text: str, at: str) -> None:
        response = api.post(f"/v1/conversations/{cid}/messages", json={"role": role, "text": text, "at": at})
        assert response.status_code == 200, response.text

    say("customer", FIRST, "2026-11-20T09:02:11+08:00")

    with chromium_page(f"{url}/?conversation={cid}") as page:

        # opened on the conversation: the first turn is shown and drafts are written for it
        transcript = page.locator("#transcript")
        expect(transcript).to_contain_text("TW20251103-8812", timeout=60_000)
        expect(transcript).to_contain_text("需求：盡快解決")  # needs per customer turn, beside the anger
        expect(page.locator("#conversation-id").get_by_role("textbox")).to_have_value(cid)
        draft = page.locator("#conv-draft-empathetic_reply textarea")
        status = page.locator("#conv-status")
        expect(status).to_contain_text("第 1 輪", timeout=30_000)
        expect(status).to_contain_text("✓", timeout=30_000)
        expect(draft).not_to_have_value("")
        first = draft.input_value()
        assert "TW20251103-8812" in first
        expect(page.locator("#ledger")).to_contain_text("目前還沒有答應客戶任何事")
        expect(page.locator("#trend svg circle")).to_have_count(1)

        # the CRM posts two more turns: the panel catches up by itself
        say("agent", PROMISE, "2026-11-20T09:05:00+08:00")
        say("customer", MANAGER, "2026-11-20T09:07:00+08:00")
        expect(transcript).to_contain_text(MANAGER, timeout=15_000)
        expect(page.locator("#alerts")).to_contain_text("主管", timeout=5_000)
        ledger = page.locator("#ledger")
        expect(ledger).to_contain_text("回電")
        expect(ledger).to_contain_text("今天下午五點")
        expect(page.locator("#trend svg circle")).to_have_count(2)
        expect(page.locator("#trend")).to_contain_text("越來越激動")
        expect(status).to_contain_text("第 3 輪", timeout=30_000)
        expect(status).to_contain_text("✓", timeout=30_000)
        second = draft.input_value()
        assert second and second != first

        # the agent's own reply gives a second, different deadline: the ledger check names it
        page.locator("#agent-text textarea").fill(OTHER_DEADLINE)
        page.locator("#check-turn").click()
        expect(page.locator("#turn-findings")).to_contain_text("與先前承諾的時間不一致", timeout=20_000)
        expect(page.locator("#turn-marks")).to_contain_text("24小時內")

        # the empathetic draft in the other script (OpenCC, exactly)
        page.locator("#rewrite-source input").click()
        page.get_by_role("option", name="同理回覆").click()
        page.locator("#rewrite-control").get_by_label("繁簡轉換").check()
        page.locator("#rewrite").click()
        rewritten = page.locator("#rewritten textarea")
        expected = convert_script(second, "zh-Hans")
        assert "订单" in expected and expected != second
        expect(rewritten).to_have_value(expected, timeout=20_000)
        expect(page.locator("#rewrite-notes")).to_contain_text("zh-Hans")

        # the escalation brief for an English-speaking supervisor, in one click
        page.locator("#brief-language input").click()
        page.get_by_role("option", name="English").click()
        page.locator("#brief-button").click()
        brief = page.locator("#brief")
        expect(brief).to_contain_text("Already promised", timeout=30_000)
        expect(brief).to_contain_text("TW20251103-8812")
        expect(brief).to_contain_text("callback")

        page.screenshot(path=str(PROJECT_ROOT / "docs" / "panel-conversation.png"), full_page=True)

        # translation needs the LLM: without one the panel says why instead of failing
        page.locator("#rewrite-control").get_by_label("換語言").check()
        page.locator("#rewrite-target input").click()
        page.get_by_role("option", name="English").click()
        page.locator("#rewrite").click()
        expect(page.locator("#rewrite-notes")).to_contain_text("無法改寫", timeout=20_000)
        expect(page.locator("#rewrite-notes")).to_contain_text("LLM")

        # another interface language: the followed conversation is drawn again in it
        page.locator("#ui-language").get_by_label("English").check()
        expect(page.get_by_role("tab", name="Conversation")).to_be_visible(timeout=10_000)
        expect(transcript).to_contain_text("Customer", timeout=15_000)
        expect(page.locator("#alerts")).to_contain_text("asks for a manager")
        expect(ledger).to_contain_text("callback")

        # an unknown id is reported in the transcript area, not raised
        page.locator("#conversation-id").get_by_role("textbox").fill("no-such-conversation")
        page.locator("#follow").click()
        expect(transcript).to_contain_text("no-such-conversation", timeout=15_000)
        expect(draft).to_have_value("")
        # nothing on the way raised: Gradio shows a handler's error as a toast
        assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()


@pytest.fixture(scope="module")
def llm_panel(kb_settings, tmp_path_factory):
    """The panel with the LLM engine, pointed at the scripted OpenAI-compatible server."""
    import gradio as gr

    from copilot.api import create_app
    from copilot.service import Copilot
    from copilot.ui import build_panel
    from copilot.ui.panel import CSS
    from tests.llm_server import ScriptedLLMServer, reply

    folder = tmp_path_factory.mktemp("panel-llm")
    with ScriptedLLMServer() as llm:
        llm.default = reply("謝謝您告訴我這件事，我會親自跟進。", pieces=2)
        settings = kb_settings.model_copy(update={
            "audit_db": folder / "audit.sqlite3", "conversations_db": folder / "conversations.sqlite3",
            "llm_base_url": llm.base_url, "llm_api_key": "test", "llm_model": "scripted-model", "llm_timeout": 20.0, "llm_retries": 0})
        service = Copilot(settings)
        app = gr.mount_gradio_app(create_app(service), build_panel(service), path="/", css=CSS)
        server, thread, url = serve_in_thread(app)
        yield url, llm
        server.should_exit = True
        thread.join(timeout=15)


@needs_chromium
def test_llm_drafts_stream_into_the_panel_with_violations_highlighted_while_they_are_written(llm_panel):
    import httpx
    from playwright.sync_api import expect

    from tests.llm_server import reply_json

    url, llm = llm_panel
    blaming = "讓您一直等，真的很抱歉。這是物流那邊出的錯，跟我們沒有關係。包裹現在由我追蹤，我會在 24 小時內給您最新進度。"
    fixed = "讓您一直等，真的很抱歉。包裹現在由我親自追蹤，我會在 24 小時內給您最新進度。"
    reading = {"needs": ["fast_fix"], "anger": 2, "customer_type": "emotional", "hard_type": None, "escalation": [],
               "category": "ecommerce/late_delivery", "injection": False}
    answer = {"empathetic_reply": {"text": blaming, "citations": []},
              "expectation_lowering": {"text": "我了解您希望盡快收到。送達時間我現在還不能保證，但我會每天告訴您包裹的位置。", "citations": []},
              "compensation": {"text": "這次等待讓您很困擾，我先在您的帳戶加上 20 元購物金。", "citations": []}}
    # the three drafts come as one JSON answer, streamed slowly
    confirm = {"findings": [{"id": f"f{i}", "verdict": "confirm"} for i in range(1, 9)], "added": []}
    llm.script(reply_json(reading), reply_json(answer, pieces=40, delay=0.15), reply_json(confirm), reply_json({"text": fixed}))
    api = httpx.Client(base_url=url, timeout=30)
    cid = api.post("/v1/conversations", json={"channel": "chat"}).json()["id"]
    api.post(f"/v1/conversations/{cid}/messages", json={"role": "customer", "text": FIRST, "at": "2026-11-20T09:02:11+08:00"})

    with chromium_page(f"{url}/?conversation={cid}") as page:
        draft = page.locator("#conv-draft-empathetic_reply textarea")
        marks = page.locator("#conv-marks-empathetic_reply")
        # while the model is still writing, the blaming sentence is already marked
        expect(marks).to_contain_text("物流那邊出的錯", timeout=60_000)
        assert len(draft.input_value()) < len(blaming), "the highlight must appear before the draft is complete"
        # when it is done, the draft the agent gets is the rewritten one
        expect(draft).to_have_value(fixed, timeout=60_000)
        expect(page.locator("#conv-status")).to_contain_text("llm", timeout=30_000)
    streamed = [r for r in llm.chat_requests if r.body.get("stream")]
    assert len(streamed) == 1 and "<complaint>" in streamed[0].text
