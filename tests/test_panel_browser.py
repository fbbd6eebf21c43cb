"""The side panel in a real headless Chromium (Debian's), driven by Playwright: paste a complaint, get
drafts, see a violation highlighted after typing a blaming sentence, send feedback, switch languages."""

from __future__ import annotations

import sqlite3

import pytest

from copilot.settings import PROJECT_ROOT
from tests.conftest import chromium_page, needs_chromium, serve_in_thread

COMPLAINT = "我的訂單 TW20251103-8812 已經晚了五天還沒到！！這是我第三次打來了，再不處理我就投訴到消保官，叫你們主管出來！"

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def panel(kb_settings, tmp_path_factory):
    import gradio as gr

    from copilot.api import create_app
    from copilot.service import Copilot
    from copilot.ui import build_panel
    from copilot.ui.panel import CSS

    settings = kb_settings.model_copy(update={"audit_db": tmp_path_factory.mktemp("audit") / "audit.sqlite3"})
    service = Copilot(settings)
    app = gr.mount_gradio_app(create_app(service), build_panel(service), path="/", css=CSS)
    server, thread, url = serve_in_thread(app)
    yield url + "/", settings
    server.should_exit = True
    thread.join(timeout=15)


def test_agent_flow_in_headless_chromium(panel):
    from playwright.sync_api import expect

    url, settings = panel
    with chromium_page(url) as page:
        page.locator("#complaint textarea").wait_for(timeout=60_000)
        page.locator("#complaint textarea").fill(COMPLAINT)
        page.locator("#draft").click()
        draft = page.locator("#draft-empathetic_reply textarea")
        expect(draft).not_to_have_value("", timeout=60_000)
        expect(page.locator("#analysis")).to_contain_text("manager", timeout=10_000)
        first = draft.input_value()
        assert "TW20251103-8812" in first

        draft.fill(first + "其實這是倉庫那邊出的錯。")
        marks = page.locator("#marks-empathetic_reply")
        expect(marks).to_contain_text("倉庫那邊出的錯", timeout=20_000)
        expect(marks).to_contain_text("blame_department", timeout=20_000)
        expect(page.locator("#findings-empathetic_reply")).to_contain_text("reject", timeout=20_000)

        draft.fill(first)
        page.locator("#useful-empathetic_reply").get_by_label("no").check()
        page.locator("#send-empathetic_reply").click()
        expect(page.locator("#status-empathetic_reply")).to_contain_text("saved", timeout=20_000)

        page.locator("#ui-language").get_by_label("English").check()
        expect(page.get_by_role("tab", name="Suggest")).to_be_visible(timeout=10_000)
        page.screenshot(path=str(PROJECT_ROOT / "docs" / "panel.png"), full_page=True)

    db = sqlite3.connect(settings.audit_path)
    useful, draft_kind = db.execute("SELECT useful, draft_kind FROM feedback").fetchone()
    assert (useful, draft_kind) == (0, "empathetic_reply")
    assert db.execute("SELECT count(*) FROM suggestions").fetchone()[0] == 1
