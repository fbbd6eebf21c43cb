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
        view = page.locator("#draft-empathetic_reply")
        expect(view).to_contain_text("抱歉", timeout=60_000)
        expect(page.locator("#analysis")).to_contain_text("manager", timeout=10_000)
        expect(page.locator("#analysis")).to_contain_text("ecommerce/late_delivery")
        first = view.inner_text()
        # each draft is shown once: no second copy of its text anywhere on the page
        assert page.locator("body").inner_text().count(first.strip()[:12]) == 1
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height < 1800, f"one suggestion takes {height} px at 420 px wide"

        page.locator("#edit-button-empathetic_reply").click()
        box = page.locator("#edit-empathetic_reply textarea")
        expect(box).to_be_visible(timeout=10_000)
        expect(view).to_be_hidden()
        original = box.input_value()
        box.fill(original + "其實這是倉庫那邊出的錯。")
        expect(page.locator("#findings-empathetic_reply")).to_contain_text("倉庫那邊出的錯", timeout=20_000)
        page.locator("#edit-button-empathetic_reply").click()  # done: the draft again, the finding marked in place
        expect(view).to_be_visible(timeout=10_000)
        expect(view).to_contain_text("倉庫那邊出的錯", timeout=20_000)
        expect(view).to_contain_text("blame_department", timeout=20_000)

        page.locator("#edit-button-empathetic_reply").click()
        box.fill(original)
        page.locator("#edit-button-empathetic_reply").click()
        page.locator("#useful-empathetic_reply").get_by_label("no").check()
        page.locator("#send-empathetic_reply").click()
        expect(page.locator("#status-empathetic_reply")).to_contain_text("saved", timeout=20_000)

        # nothing on the way raised: Gradio shows a handler's error as a toast
        assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()
        page.locator("#ui-language").get_by_label("English").check()
        expect(page.get_by_role("tab", name="Suggest")).to_be_visible(timeout=10_000)
        page.screenshot(path=str(PROJECT_ROOT / "docs" / "panel.png"), full_page=True)

    db = sqlite3.connect(settings.audit_path)
    useful, draft_kind = db.execute("SELECT useful, draft_kind FROM feedback").fetchone()
    assert (useful, draft_kind) == (0, "empathetic_reply")
    assert db.execute("SELECT count(*) FROM suggestions").fetchone()[0] == 1
